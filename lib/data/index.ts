export * from './label-source';
export * from './test-data';
export * from './training-data';
