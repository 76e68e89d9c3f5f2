export * from './batch-analysis';
