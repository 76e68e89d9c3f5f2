export * from './images';
export * from './lines';
export * from './predictions';
export * from './server';
export * from './session';
