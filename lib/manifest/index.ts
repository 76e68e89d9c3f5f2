export * from './convert';
export * from './image';
export * from './reader';
export * from './report';
export * from './split';
export * from './stats';
export * from './types';
export * from './validator';
