/** The pure parts of validate-input: key filtering, sample decoding, header recognition, dataset rules, result caps, concurrency. */
import * as zlib from 'zlib';
import { DATASET_KINDS } from '../../core/config/execution-input';
import { DEFAULT_PIPELINE_PARAMETERS } from '../../core/config/pipeline-params';
import { RAW_TABLES, RawTableDef } from '../../core/contract';
import { InputValidationError } from '../../core/input/errors';
import { mapLimit } from '../../lambdas/shared/map-limit';
import { buildValidatedRun, capFileList, ValidatedFile } from '../../lambdas/validate-input/output';
import {
  checkDatasetConsistency,
  CLI_VOCABULARY,
  decodeSample,
  describeRawLayouts,
  FILE_COUNT_RULES,
  firstLine,
  gunzipPrefix,
  isIgnoredKey,
  MAX_DECOMPRESSED_SAMPLE_BYTES,
  parseHeaderLine,
  recogniseHeader,
  recogniseSample,
  SAMPLE_BYTES,
} from '../../core/input/recognise';

const table = (name: string): RawTableDef => RAW_TABLES.find((t) => t.name === name)!;
const REES46 = table('raw_rees46_events');
const RR_EVENTS = table('raw_retailrocket_events');
const RR_TREE = table('raw_retailrocket_category_tree');
const RR_PROPERTIES = table('raw_retailrocket_item_properties');
const URI = 's3://raw-bucket/in/file.csv';

/** Resolves to the InputValidationError `run` throws or rejects with. */
async function validationError(run: () => unknown): Promise<InputValidationError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputValidationError);
    expect((error as Error).name).toBe('InputValidationError');
    return error as InputValidationError;
  }
  throw new Error('expected an InputValidationError');
}

describe('isIgnoredKey', () => {
  test.each([
    ['rees46/', true],
    ['rees46/2019-Oct/', true],
    ['rees46/_READY', true],
    ['rees46/_SUCCESS', true],
    ['_READY', true],
    ['rees46/.DS_Store', true],
    ['rees46/2019-Oct.csv.gz', false],
    ['rees46/2019-Oct.csv', false],
    ['rees46/_archive/2019-Oct.csv', false],
    ['events.csv', false],
  ])('%s → %s', (key, ignored) => expect(isIgnoredKey(key)).toBe(ignored));
});

describe('header line parsing', () => {
  test.each([
    ['a,b\nc,d', 'a,b'],
    ['a,b\r\nc,d', 'a,b'],
    ['a,b\rc,d', 'a,b\rc,d'], // a lone CR is content: LF ends a line, as in both readers
    ['a,b\r\r\nc,d', 'a,b\r'], // one trailing CR removed
    ['a,b', 'a,b'],
    ['', ''],
  ])('first line of %j is %j', (text, line) => expect(firstLine(text)).toBe(line));

  test('keeps names exactly as written: quoted or padded names are not the dataset header', () => {
    const names = parseHeaderLine(' "timestamp" , visitorid,"event" ,itemid,"transactionid"');
    expect(names).toEqual([' "timestamp" ', ' visitorid', '"event" ', 'itemid', '"transactionid"']);
    expect(recogniseHeader(names)).toBeUndefined();
  });
});

describe('recogniseHeader', () => {
  test.each(RAW_TABLES.map((t) => [t.name, t] as const))('%s: its own header', (_, t) => {
    expect(recogniseHeader(t.header)).toBe(t);
  });

  test('RetailRocket events with the optional trailing datetime', () => {
    expect(recogniseHeader([...RR_EVENTS.header, 'datetime'])).toBe(RR_EVENTS);
  });

  test.each([
    ['an unknown trailing column', [...RR_EVENTS.header, 'datetime', 'extra']],
    ['another table’s optional column', [...REES46.header, 'datetime']],
    ['a missing column', REES46.header.slice(0, -1)],
    ['columns out of order', [REES46.header[1], REES46.header[0], ...REES46.header.slice(2)]],
    ['other letter case', REES46.header.map((c) => c.toUpperCase())],
    ['no columns', ['']],
  ])('not with %s', (_, columns) => expect(recogniseHeader(columns)).toBeUndefined());
});

describe('decodeSample', () => {
  const csv = `${REES46.header.join(',')}\n2019-10-01 00:00:00 UTC,view,1,2,,,1.00,3,s\n`;

  test('plain text', async () => {
    expect(await decodeSample(Buffer.from(csv), URI, true)).toEqual({ text: csv, gzip: false });
  });

  test('drops a UTF-8 byte order mark', async () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv)]);
    expect((await decodeSample(withBom, URI, true)).text).toBe(csv);
  });

  test('gzip, whole', async () => {
    expect(await decodeSample(zlib.gzipSync(csv), URI, true)).toEqual({ text: csv, gzip: true });
  });

  test('gzip cut after 64 KiB yields the decompressed beginning', async () => {
    let state = 1;
    const rows = Array.from({ length: 20_000 }, () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0).toString(36));
    const big = csv + rows.join('\n');
    const gz = zlib.gzipSync(big);
    expect(gz.length).toBeGreaterThan(SAMPLE_BYTES);

    const { text, gzip } = await decodeSample(gz.subarray(0, SAMPLE_BYTES), URI, false);

    expect(gzip).toBe(true);
    expect(text.length).toBeGreaterThan(SAMPLE_BYTES);
    expect(big.startsWith(text)).toBe(true);
  });

  test('gzip output is capped for highly compressible content', async () => {
    const gz = zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024, 'a'));
    expect(gz.length).toBeLessThan(SAMPLE_BYTES);

    const decompressed = await gunzipPrefix(gz, MAX_DECOMPRESSED_SAMPLE_BYTES);

    expect(decompressed.complete).toBe(false);
    // Buffer#equals: jest's toEqual walks a megabyte element by element, for seconds.
    expect(decompressed.bytes.equals(Buffer.alloc(MAX_DECOMPRESSED_SAMPLE_BYTES, 'a'))).toBe(true);
  });

  test('a multi-byte character cut at the end of a partial sample is not an error', async () => {
    const bytes = Buffer.from(`${csv}café`);
    const cut = bytes.subarray(0, bytes.length - 1);
    expect((await decodeSample(cut, URI, false)).text).toBe(`${csv}caf`);
    // …and in a whole object that ends inside a character, that later line only gets a U+FFFD (the readers' rule).
    expect((await decodeSample(cut, URI, true)).text).toBe(`${csv}caf\uFFFD`);
    // A header line cut inside a character in a whole object is not UTF-8.
    const header = Buffer.from('café');
    const error = await validationError(() => decodeSample(header.subarray(0, header.length - 1), URI, true));
    expect(error.message).toBe(`${URI} is not a CSV text file (binary content)`);
  });

  test.each([
    ['a NUL', '\u0000', '\u0000'],
    ['a control byte (ESC)', '\u001b', '\u001b'],
  ])('%s in a row after the header is not a reason to refuse the file (the readers reject that row)', async (_, byte, decoded) => {
    const text = `${csv}2019-10-01 00:00:00 UTC,view,1,2,,ac${byte}me,1.00,3,s\n`;
    expect(await decodeSample(Buffer.from(text), URI, true)).toEqual({ text: text.replace(byte, decoded), gzip: false });
    expect((await decodeSample(zlib.gzipSync(text), URI, true)).text).toBe(text);
  });

  test('invalid UTF-8 (Latin-1 é) in a row after the header is not a reason to refuse the file: it decodes to U+FFFD', async () => {
    expect((await decodeSample(Buffer.from(`${csv}caf\xe9\n`, 'latin1'), URI, true)).text).toBe(`${csv}caf\uFFFD\n`);
  });

  test.each([
    ['a NUL byte in the header line', Buffer.from('event_time\0,event_type\n')],
    ['a NUL byte in a header line without a line end', Buffer.from('event_time,event_type\0')],
    ['UTF-16', Buffer.from(`\ufeff${csv}`, 'utf16le')],
    ['a Latin-1 header line', Buffer.from(`caf\xe9,event_type\n${csv}`, 'latin1')],
    ['random bytes', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00])],
  ])('rejects %s as binary', async (_, bytes) => {
    const error = await validationError(() => decodeSample(bytes, URI, true));
    expect(error.message).toBe(`${URI} is not a CSV text file (binary content)`);
  });

  test('rejects binary inside gzip', async () => {
    const error = await validationError(() => decodeSample(zlib.gzipSync(Buffer.from([1, 0, 2, 0])), URI, true));
    expect(error.message).toBe(`${URI} is not a CSV text file (binary content) after gunzip`);
  });

  test('rejects a corrupt gzip stream', async () => {
    const gz = zlib.gzipSync(csv);
    gz.fill(0xff, 10, gz.length - 8);
    const error = await validationError(() => decodeSample(gz, URI, true));
    expect(error.message).toContain(`${URI} starts like a gzip file but cannot be decompressed`);
  });
});

describe('recogniseSample', () => {
  test('recognises the first line, whatever follows', () => {
    expect(recogniseSample(`${RR_TREE.header.join(',')}\r\n1016,213\r\n`, URI)).toBe(RR_TREE);
  });

  test('an unknown header: names the object, the header found and every layout', async () => {
    const error = await validationError(() => recogniseSample('id,name\n1,x\n', URI));
    expect(error.message).toBe(
      `${URI} has an unrecognised header: found header "id,name"; expected the header line of one of ${describeRawLayouts()}`,
    );
    for (const t of RAW_TABLES) expect(error.message).toContain(`${t.name}: ${t.header.join(',')}`);
    expect(error.message).toContain('transactionid[,datetime]');
  });

  test('a long header is cut to 200 characters', async () => {
    const line = 'c'.repeat(1000);
    const error = await validationError(() => recogniseSample(line, URI));
    expect(error.message).toContain(`"${'c'.repeat(200)}…"`);
    expect(error.message).not.toContain('c'.repeat(201));
  });

  test('an empty first line', async () => {
    const error = await validationError(() => recogniseSample('\nevent_time\n', URI));
    expect(error.message).toContain(`${URI} has an unrecognised header: found an empty first line`);
  });
});

describe('checkDatasetConsistency', () => {
  const INPUT = 's3://raw-bucket/in/';
  const file = (name: string, t: RawTableDef) => ({ uri: `${INPUT}${name}`, table: t });

  test('FILE_COUNT_RULES cover exactly the raw tables of each dataset', () => {
    for (const dataset of DATASET_KINDS) {
      expect(FILE_COUNT_RULES[dataset].map((r) => r.table).sort()).toEqual(
        RAW_TABLES.filter((t) => t.dataset === dataset)
          .map((t) => t.name)
          .sort(),
      );
    }
  });

  test('REES46: one or many month files', () => {
    expect(checkDatasetConsistency([file('oct.csv', REES46)], 'auto', INPUT)).toBe('rees46');
    expect(checkDatasetConsistency([file('oct.csv', REES46), file('nov.csv', REES46)], 'rees46', INPUT)).toBe('rees46');
  });

  test('RetailRocket: events, with or without a category tree and item properties', () => {
    expect(checkDatasetConsistency([file('e.csv', RR_EVENTS)], 'auto', INPUT)).toBe('retailrocket');
    expect(
      checkDatasetConsistency(
        [file('e1.csv', RR_EVENTS), file('e2.csv', RR_EVENTS), file('t.csv', RR_TREE), file('p1.csv', RR_PROPERTIES), file('p2.csv', RR_PROPERTIES)],
        'retailrocket',
        INPUT,
      ),
    ).toBe('retailrocket');
  });

  test('rejects mixed datasets, naming a file of each', async () => {
    const error = await validationError(() => checkDatasetConsistency([file('oct.csv', REES46), file('t.csv', RR_TREE)], 'auto', INPUT));
    expect(error.message).toBe(
      `${INPUT} mixes datasets: ${INPUT}oct.csv (raw_rees46_events) is rees46 but ${INPUT}t.csv (raw_retailrocket_category_tree) is retailrocket; ` +
        'put each dataset under its own prefix and start one run per dataset',
    );
  });

  test('rejects files of the other dataset than requested', async () => {
    const error = await validationError(() => checkDatasetConsistency([file('e.csv', RR_EVENTS)], 'rees46', INPUT));
    expect(error.message).toContain('dataset "rees46" was requested');
    expect(error.message).toContain(`${INPUT}e.csv (raw_retailrocket_events)`);
  });

  test('the other dataset than requested, in the execution input\'s words by default and in the CLI\'s flags when asked', async () => {
    const files = [file('e.csv', RR_EVENTS)];
    const lambda = await validationError(() => checkDatasetConsistency(files, 'rees46', INPUT));
    expect(lambda.message).toBe(
      `dataset "rees46" was requested but the files under ${INPUT} are retailrocket files, e.g. ${INPUT}e.csv (raw_retailrocket_events); ` +
        'set dataset to "retailrocket" or "auto", or point inputPrefix at rees46 files',
    );
    const cli = await validationError(() => checkDatasetConsistency(files, 'rees46', INPUT, CLI_VOCABULARY));
    expect(cli.message).toBe(
      `--dataset rees46 was requested but the files under ${INPUT} are retailrocket files, e.g. ${INPUT}e.csv (raw_retailrocket_events); ` +
        'use --dataset retailrocket or --dataset auto, or point --input at rees46 files',
    );
  });

  test('mixed datasets, in the CLI\'s words', async () => {
    const error = await validationError(() =>
      checkDatasetConsistency([file('oct.csv', REES46), file('t.csv', RR_TREE)], 'auto', INPUT, CLI_VOCABULARY),
    );
    expect(error.message).toMatch(/; give each dataset its own --input and run once per dataset$/);
    expect(error.message).not.toMatch(/prefix|inputPrefix/);
  });

  test('rejects RetailRocket without events', async () => {
    const error = await validationError(() =>
      checkDatasetConsistency([file('t.csv', RR_TREE), file('p.csv', RR_PROPERTIES)], 'auto', INPUT),
    );
    expect(error.message).toContain(`retailrocket input under ${INPUT} has no raw_retailrocket_events file`);
    expect(error.message).toContain(`${INPUT}t.csv (raw_retailrocket_category_tree), ${INPUT}p.csv (raw_retailrocket_item_properties)`);
  });

  test('rejects two category trees', async () => {
    const error = await validationError(() =>
      checkDatasetConsistency([file('e.csv', RR_EVENTS), file('t1.csv', RR_TREE), file('t2.csv', RR_TREE)], 'auto', INPUT),
    );
    expect(error.message).toBe(
      `retailrocket input under ${INPUT} has 2 raw_retailrocket_category_tree files, at most 1 allowed: ${INPUT}t1.csv, ${INPUT}t2.csv`,
    );
  });

  test('rejects no files at all', async () => {
    await validationError(() => checkDatasetConsistency([], 'auto', INPUT));
  });
});

describe('result size', () => {
  const files = (count: number, keyLength: number): ValidatedFile[] =>
    Array.from({ length: count }, (_, i) => {
      const key = `k${i}-`.padEnd(keyLength, 'x');
      return { key, uri: `s3://raw-bucket/${key}`, bytes: i + 1, table: 'raw_rees46_events', gzip: true };
    });

  test('the file list keeps at most 1000 entries', () => {
    const all = files(1500, 20);
    expect(capFileList(all)).toEqual(all.slice(0, 1000));
  });

  test('the file list keeps within its JSON budget', () => {
    const kept = capFileList(files(100, 100), 1000, 2000);
    expect(kept.length).toBeGreaterThan(0);
    expect(Buffer.byteLength(JSON.stringify(kept))).toBeLessThanOrEqual(2000);
    expect(Buffer.byteLength(JSON.stringify(capFileList(files(100, 100), 1000, 2000 + 1000)))).toBeGreaterThan(2000);
  });

  test('a run of 10,000 files with 1 KiB keys stays under 200 KB', () => {
    const all = files(10_000, 1024);
    const run = buildValidatedRun({
      runId: 'r',
      dataset: 'rees46',
      inputPrefix: 'in/',
      inputUri: 's3://raw-bucket/in/',
      parameters: DEFAULT_PIPELINE_PARAMETERS,
      files: all,
    });
    expect(run.fileCount).toBe(10_000);
    expect(run.totalBytes).toBe((10_000 * 10_001) / 2);
    expect(run.tableFileCounts).toEqual({ raw_rees46_events: 10_000 });
    expect(run.filesTruncated).toBe(true);
    expect(run.files).toEqual(all.slice(0, run.files.length));
    expect(Buffer.byteLength(JSON.stringify(run))).toBeLessThan(200 * 1024);
  });
});

describe('mapLimit', () => {
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  test('keeps order and never runs more than the limit at once', async () => {
    let inFlight = 0;
    let max = 0;
    const results = await mapLimit([...Array(50).keys()], 4, async (n) => {
      max = Math.max(max, ++inFlight);
      await tick();
      inFlight--;
      return n * 2;
    });
    expect(results).toEqual([...Array(50).keys()].map((n) => n * 2));
    expect(max).toBe(4);
  });

  test('rejects with the first error and starts nothing after it', async () => {
    const started: number[] = [];
    const failure = new Error('boom');
    const run = mapLimit([...Array(50).keys()], 3, async (n) => {
      started.push(n);
      await tick();
      if (n === 5) throw failure;
      return n;
    });
    await expect(run).rejects.toBe(failure);
    await tick();
    expect(Math.max(...started)).toBeLessThan(5 + 3);
  });

  test('waits for the calls in flight before rejecting, so no work outlives the invocation', async () => {
    let running = 0;
    const run = mapLimit([0, 1, 2], 3, async (n) => {
      running++;
      await new Promise((resolve) => setTimeout(resolve, n === 0 ? 0 : 30));
      running--;
      if (n === 0) throw new Error('first');
      return n;
    });
    await expect(run).rejects.toThrow('first');
    expect(running).toBe(0);
  });

  test('an empty list and a bad limit', async () => {
    await expect(mapLimit([], 8, async () => 1)).resolves.toEqual([]);
    await expect(mapLimit([1], 0, async () => 1)).rejects.toThrow('limit must be a positive integer');
  });
});
