/**
 * The command line of a generated file's writer (contract.json, docs/tables.md): write the file, or
 * with `--check` exit 1 when the committed file is missing or differs from what would be written.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Writes `text` to `file`, or checks it (`--check` in argv); returns the exit code. */
export function writeOrCheckGenerated(file: string, text: string, npmScript: string, argv: readonly string[]): number {
  const relative = path.relative(process.cwd(), file);
  if (argv.includes('--check')) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    if (current === text) return 0;
    console.error(`${relative} is ${current === undefined ? 'missing' : 'stale'}: run npm run ${npmScript}`);
    return 1;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  console.log(`wrote ${relative}`);
  return 0;
}
