/**
 * als.test.ts again with the JS kernels forced (SHOPSIGHT_ALS_KERNELS=js): by default the training
 * tests there run the WASM kernels where available, and the portable path must stay held to the
 * same cases (jest gives each test file its own process.env).
 */
process.env.SHOPSIGHT_ALS_KERNELS = 'js';
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('./als.test');
