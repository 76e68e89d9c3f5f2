export * from './gate';
export * from './html';
export * from './summary';
export * from './testing-output';
export * from './thumbnail';
