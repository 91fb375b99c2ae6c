/**
 * The local engine's validate stage (local/engine/inputs.ts): the validate-input Lambda's rules,
 * with messages that name the CLI's flags, and a file whose header is text accepted even when a
 * later row holds a NUL (the readers reject that row). Files are made up, written to a temp folder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT } from '../../local/engine/exit-codes';
import { InputError, resolveInputs } from '../../local/engine/inputs';
import { REES46_HEADER } from '../../local/engine/rees46-reader';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-inputs-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, content: string | Buffer): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
};
const ROW = '2019-10-01 00:00:00 UTC,view,1001,2100000000000000017,electronics.smartphone,acme,1.00,500000001,s-1';

async function inputError(run: () => Promise<unknown>): Promise<InputError> {
  const error = await run().then(
    () => {
      throw new Error('expected an InputError');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

test('another dataset than --dataset asked for: the message names --dataset and --input, not the execution input fields', async () => {
  const file = write('events.csv', 'timestamp,visitorid,event,itemid,transactionid\n1500000000000,7001,view,9001,\n');
  const error = await inputError(() => resolveInputs([file], 'rees46'));
  expect(error.exitCode).toBe(EXIT.inputUnusable);
  expect(error.message).toBe(
    `--dataset rees46 was requested but the files under ${file} are retailrocket files, e.g. ${file} (raw_retailrocket_events); ` +
      'use --dataset retailrocket or --dataset auto, or point --input at rees46 files',
  );
  expect(error.message).not.toMatch(/inputPrefix|set dataset to/);
});

test('two datasets in one run: the advice names --input', async () => {
  const a = write('oct.csv', `${REES46_HEADER.join(',')}\n${ROW}\n`);
  const b = write('tree.csv', 'categoryid,parentid\n1,\n');
  const error = await inputError(() => resolveInputs([a, b], 'auto'));
  expect(error.message).toBe(
    `${a} ${b} mixes datasets: ${a} (raw_rees46_events) is rees46 but ${b} (raw_retailrocket_category_tree) is retailrocket; ` +
      'give each dataset its own --input and run once per dataset',
  );
});

test('a NUL in a row is not binary content (that row is a reject); a NUL in the header line is', async () => {
  const rowNul = write('row-nul.csv', `${REES46_HEADER.join(',')}\n${ROW.replace('acme', 'ac\u0000me')}\n`);
  expect((await resolveInputs([rowNul], 'auto')).events).toEqual([rowNul]);
  const headerNul = write('header-nul.csv', `${REES46_HEADER.join(',').replace('brand', 'br\u0000and')}\n${ROW}\n`);
  const error = await inputError(() => resolveInputs([headerNul], 'auto'));
  expect(error.message).toBe(`${headerNul} is not a CSV text file (binary content)`);
});
