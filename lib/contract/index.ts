export * from './types';
export * from './tables';
export * from './layout';
export * from './glue';
export * from './run-artifacts';
