export * from './data';
export * from './model';
export * from './project';
