/**
 * Formatting and plain-language explanations shared by the static report (local/report) and the
 * web app (local/app/web). Pure functions and constants only: no Node imports (esbuild bundles this
 * into the browser app too).
 */
export * from './format';
export * from './segments';
export * from './notes';
export * from './funnel';
export * from './currency';
export * from './products';
