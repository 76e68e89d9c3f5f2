export * from './data';
export * from './feedback';
export * from './model';
export * from './project';
