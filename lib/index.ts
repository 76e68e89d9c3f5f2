export * from './batch';
export * from './data';
export * from './feedback';
export * from './model';
export * from './project';
export * from './schedule';
