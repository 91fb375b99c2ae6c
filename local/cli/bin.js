#!/usr/bin/env node
// The `shopsight` command (package.json "bin"). Loads the TypeScript sources through esbuild's
// transform (a devDependency, about a millisecond a file), so the command always runs the
// checked-out code with no build step, each module keeping its own __dirname (the engine finds the
// shared SQL relative to its source file).
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
  });
  module._compile(code, filename);
};
process.setSourceMapsEnabled(true);

require(path.join(__dirname, 'main.ts'))
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
