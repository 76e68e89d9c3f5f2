export * from './model-schedule';
