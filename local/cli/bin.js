#!/usr/bin/env node
// The `shopsight` command (package.json "bin"). Loads the TypeScript sources through esbuild's
// transform (a dependency, about a millisecond a file), so the command always runs the installed
// or checked-out code with no build step, each module keeping its own __dirname (the engine finds
// the shared SQL relative to its source file).
//
// One loader for every module: a dynamic `import()` in the sources is compiled to `require()` (as
// tsc's CommonJS output and ts-jest do), so it goes through this same hook. Node's own ESM loader
// would otherwise take it and fail on the extensionless .ts path (ERR_MODULE_NOT_FOUND), which is
// how `run --mysql` once broke only in the installed command.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

require.extensions['.ts'] = (module, filename) => {
  const { code } = esbuild.transformSync(fs.readFileSync(filename, 'utf8'), {
    loader: 'ts',
    format: 'cjs',
    target: 'node20',
    sourcefile: filename,
    sourcemap: 'inline',
    supported: { 'dynamic-import': false },
  });
  module._compile(code, filename);
};
process.setSourceMapsEnabled(true);

// Ctrl-C or a TERM: exit through process.exit, so that 'exit' handlers remove a run's staging
// folder (local/engine/run-folder.ts) and the previous run folder stays as it was.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.on(signal, () => {
    process.stderr.write(`\nshopsight: stopped by ${signal}; nothing was published (an earlier run folder is unchanged)\n`);
    process.exit(code);
  });
}

require(path.join(__dirname, 'main.ts'))
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
