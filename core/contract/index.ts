export * from './types';
export * from './tables';
export { DOUBLE } from './columns';
export * from './layout';
export * from './glue';
export * from './run-artifacts';
export * from './analytics-tables';
export * from './rejects';
