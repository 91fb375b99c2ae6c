/**
 * The code layout (README, "Code map"): core/ holds everything without CDK, and the four parts
 * around it import the core, never each other's internals:
 *
 *   core/      contract, config and parameters, loader SQL and schema, input recognition, API logic, shared SQL
 *   lib/       the CDK app (constructs)            → core/
 *   lambdas/   the Lambda handlers                  → core/
 *   local/     the embedded engine, report, app, rehearsal → core/ (the rehearsal also synthesizes lib/app.ts)
 *
 * and no source file imports itself back through a chain of imports. Read from the files on disk,
 * import and export statements, type-only ones included.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const PARTS = ['core', 'lib', 'lambdas', 'local', 'bin', 'scripts', 'bench', 'test'] as const;
type Part = (typeof PARTS)[number];

/** What each part may import besides itself. */
const ALLOWED: Record<Part, readonly Part[]> = {
  core: [],
  lib: ['core'],
  lambdas: ['core'],
  local: ['core'],
  bin: ['lib', 'core'],
  scripts: ['core'],
  bench: ['core', 'local', 'lambdas', 'test'],
  test: ['core', 'lib', 'lambdas', 'local', 'bin', 'scripts'],
};
/**
 * The one deliberate crossing: the rehearsal synthesizes the real app, as `cdk synth` does, through
 * lib/app.ts, lib's public entry (it runs the synthesized template; it does not reach into constructs).
 */
const EXCEPTIONS: ReadonlyArray<readonly [string, string]> = [['local/rehearse/stack-model.ts', 'lib/app.ts']];
/** Packages that make code CDK or AWS-SDK code: core never imports them. */
const NOT_IN_CORE = /^(aws-cdk-lib|constructs|cdk-nag|@aws-sdk\/|@aws-cdk\/)/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...sourceFiles(rel));
    } else if (/\.(ts|tsx|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const FILES = PARTS.filter((p) => fs.existsSync(path.join(ROOT, p))).flatMap((p) => sourceFiles(p));
const KNOWN = new Set(FILES);

/** Import specifiers of a file: import/export … from, import(…), require(…), side-effect imports. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\b(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]);
  return found;
}

function resolve(from: string, spec: string): string | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  return [base, `${base}.ts`, `${base}.tsx`, `${base}.js`, `${base}/index.ts`, `${base}/index.js`].find((c) => KNOWN.has(c));
}

interface Edge {
  readonly from: string;
  readonly to: string;
}
const EDGES: Edge[] = [];
const PACKAGES: { from: string; pkg: string }[] = [];
const UNRESOLVED: string[] = [];
for (const file of FILES) {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  for (const spec of specifiers(text)) {
    if (spec.startsWith('.')) {
      const to = resolve(file, spec);
      if (to) EDGES.push({ from: file, to });
      else if (!/\.(json|css|html)$/.test(spec)) UNRESOLVED.push(`${file}: ${spec}`);
    } else PACKAGES.push({ from: file, pkg: spec });
  }
}
const partOf = (file: string): Part => file.split('/')[0] as Part;

describe('the code layout', () => {
  it('finds the source files and their imports (the scan itself works)', () => {
    expect(FILES).toEqual(expect.arrayContaining(['core/contract/index.ts', 'lib/app.ts', 'lambdas/load-serving/index.ts', 'local/engine/pipeline.ts']));
    expect(EDGES).toContainEqual({ from: 'lib/app.ts', to: 'lib/shopsight-stack.ts' });
    expect(PACKAGES).toContainEqual({ from: 'lib/app.ts', pkg: 'aws-cdk-lib' });
    expect(UNRESOLVED).toEqual([]);
  });

  it('core imports nothing outside core, and no CDK or AWS SDK package', () => {
    const crossings = EDGES.filter((e) => partOf(e.from) === 'core' && partOf(e.to) !== 'core').map((e) => `${e.from} → ${e.to}`);
    const packages = PACKAGES.filter((p) => partOf(p.from) === 'core' && NOT_IN_CORE.test(p.pkg)).map((p) => `${p.from} → ${p.pkg}`);
    expect([...crossings, ...packages]).toEqual([]);
  });

  it('lib, lambdas and local import the core and never each other', () => {
    const exception = (e: Edge) => EXCEPTIONS.some(([from, to]) => e.from === from && e.to === to);
    const crossings = EDGES.filter((e) => {
      const a = partOf(e.from);
      const b = partOf(e.to);
      return a !== b && !ALLOWED[a].includes(b) && !exception(e);
    }).map((e) => `${e.from} → ${e.to}`);
    expect(crossings).toEqual([]);
    // Each exception is still needed (a stale one would allow a crossing nobody uses).
    for (const [from, to] of EXCEPTIONS) expect(EDGES).toContainEqual({ from, to });
  });

  it('has no import cycles', () => {
    const next = new Map<string, string[]>();
    for (const e of EDGES) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const to of next.get(file) ?? []) visit(to, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of FILES) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
