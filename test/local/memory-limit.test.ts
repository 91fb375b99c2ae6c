/**
 * defaultMemoryLimit: DuckDB's share of a run's memory budget, from the machine and the input
 * (bench/README.md, "Memory"). The budget is MEMORY_BUDGET_SHARE of the machine; the ML stages'
 * reserve (256 MiB + 100 bytes per estimated event, the events estimated at 20 bytes per gzip byte
 * and 40 per plain byte) comes off it, within [MEMORY_LIMIT_MIN, MEMORY_LIMIT_MAX].
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openEngineDatabase } from '../../local/engine/duck';
import { defaultMemoryLimit, MEMORY_BUDGET_SHARE, MEMORY_LIMIT_MAX, MEMORY_LIMIT_MIN } from '../../local/engine/pipeline';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
const mib = (limit: string): number => {
  const m = /^(\d+)MiB$/.exec(limit);
  if (!m) throw new Error(`not a MiB size: ${limit}`);
  return Number(m[1]);
};

describe('defaultMemoryLimit', () => {
  test('a machine with room to spare gets the 4 GiB cap, whatever the input', () => {
    expect(MEMORY_LIMIT_MAX).toBe(4 * GIB);
    expect(defaultMemoryLimit(24 * GIB)).toBe('4096MiB');
    // 50M events as gzip at 20 bytes each (1 GB): the reserve (~4.9 GiB) still leaves 14.4 - 4.9 > 4 GiB.
    expect(defaultMemoryLimit(24 * GIB, [{ bytes: 1e9, gzip: true }])).toBe('4096MiB');
  });

  test('on a small machine the ML stages keep their room: worked example, 8 GiB and 42M events', () => {
    // 840 MB of gzip ≈ 42M events (20 bytes each) → reserve 256 MiB + 100 × 42e6 bytes;
    // budget 0.6 × 8 GiB = 4.8 GiB; DuckDB gets the rest.
    const expected = Math.floor((0.6 * 8 * GIB - (256 * MIB + 100 * 42e6)) / MIB);
    expect(expected).toBe(653);
    expect(defaultMemoryLimit(8 * GIB, [{ bytes: 840e6, gzip: true }])).toBe(`${expected}MiB`);
    // Before this sizing the default was 40% of the machine (3.2 GiB here), which with the ~4 GiB the
    // run holds over DuckDB's limit at 42M (bench/README.md) would have used 7.2 of the 8 GiB.
  });

  test('plain files count twice the events per byte of gzip; several files add up', () => {
    const plain = mib(defaultMemoryLimit(8 * GIB, [{ bytes: 400e6, gzip: false }]));
    const gz = mib(defaultMemoryLimit(8 * GIB, [{ bytes: 200e6, gzip: true }]));
    expect(plain).toBe(gz);
    const two = mib(defaultMemoryLimit(8 * GIB, [{ bytes: 100e6, gzip: true }, { bytes: 200e6, gzip: false }]));
    expect(two).toBe(gz);
  });

  test('never below the floor, never above the cap, and never more for a bigger input', () => {
    expect(defaultMemoryLimit(1 * GIB)).toBe(`${MEMORY_LIMIT_MIN / MIB}MiB`);
    expect(defaultMemoryLimit(4 * GIB, [{ bytes: 5e9, gzip: true }])).toBe(`${MEMORY_LIMIT_MIN / MIB}MiB`);
    for (const machine of [2, 6, 12, 64].map((g) => g * GIB)) {
      let previous = Infinity;
      for (const bytes of [0, 1e6, 1e8, 3e8, 1e9, 3e9]) {
        const limit = mib(defaultMemoryLimit(machine, [{ bytes, gzip: true }])) * MIB;
        expect(limit).toBeGreaterThanOrEqual(MEMORY_LIMIT_MIN);
        expect(limit).toBeLessThanOrEqual(MEMORY_LIMIT_MAX);
        expect(limit).toBeLessThanOrEqual(previous);
        // Above the floor, DuckDB plus the reserve stays within the budget.
        if (limit > MEMORY_LIMIT_MIN) expect(limit + 256 * MIB + 100 * (bytes / 20)).toBeLessThanOrEqual(MEMORY_BUDGET_SHARE * machine + MIB);
        previous = limit;
      }
    }
  });

  test('DuckDB takes the value as written', async () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-memlimit-'));
    const db = await openEngineDatabase({ workDir, memoryLimit: defaultMemoryLimit(8 * GIB, [{ bytes: 840e6, gzip: true }]) });
    try {
      const reader = await db.connection.runAndReadAll(`SELECT current_setting('memory_limit')`);
      expect(String(reader.getRows()[0][0])).toBe('653.0 MiB');
    } finally {
      db.close();
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  });
});
