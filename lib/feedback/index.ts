export * from './feedback-loop';
