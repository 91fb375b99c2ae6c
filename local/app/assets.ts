/**
 * The app's front end, bundled at start by esbuild (a dependency) from `web/main.tsx`: Preact and
 * Chart.js come from node_modules, so the browser loads nothing from the network and the installed
 * package needs no build step. About 0.2 s once per `shopsight app`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

export interface AppAssets {
  readonly html: string;
  readonly js: string;
  readonly css: string;
}

const WEB = path.join(__dirname, 'web');

export async function buildAssets(): Promise<AppAssets> {
  const result = await esbuild.build({
    entryPoints: [path.join(WEB, 'main.tsx')],
    outfile: 'app.js',
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? '';
  const css = fs.readFileSync(path.join(WEB, 'app.css'), 'utf8');
  const html = fs.readFileSync(path.join(WEB, 'index.html'), 'utf8');
  return { html, js, css };
}
