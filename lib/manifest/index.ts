export * from './image';
export * from './reader';
export * from './report';
export * from './stats';
export * from './types';
export * from './validator';
export * from './convert';
export * from './split';
