/**
 * The Glue event_date projection covers every event date prepare accepts: an accepted event
 * outside it is in S3 but invisible to Athena, and the data-quality gate's counts fail a good run.
 * The accepted dates come from the readers' shared case file (core/cases/reader_cases.json),
 * which both the local engine's and the Spark readers are tested against.
 */
import * as fs from 'fs';
import * as path from 'path';
import { synthStage } from '../support/stack';

const READER_CASES = path.join(__dirname, '..', '..', 'core', 'cases', 'reader_cases.json');

interface ReaderCase {
  readonly name: string;
  readonly dataset: string;
  readonly expect: ReadonlyArray<{ accepted?: { event_date?: string; event_time?: string } }>;
}

/** Earliest and latest accepted event date of a dataset in the shared reader cases. */
function acceptedDateBounds(dataset: string): { earliest: string; latest: string } {
  const cases = JSON.parse(fs.readFileSync(READER_CASES, 'utf-8')) as ReaderCase[];
  const dates = cases
    .filter((c) => c.dataset === dataset)
    .flatMap((c) => c.expect.map((e) => e.accepted?.event_date ?? e.accepted?.event_time?.slice(0, 10)))
    .filter((d): d is string => d !== undefined)
    .sort();
  if (dates.length === 0) throw new Error(`no accepted ${dataset} rows in ${READER_CASES}`);
  return { earliest: dates[0], latest: dates[dates.length - 1] };
}

describe('the event_date partition projection', () => {
  const { template } = synthStage();
  const ranges = Object.values(template.findResources('AWS::Glue::Table'))
    .map((t) => t.Properties.TableInput)
    .filter((input) => input.Parameters?.['projection.event_date.type'] === 'date')
    .map((input) => ({ table: input.Name as string, range: input.Parameters['projection.event_date.range'] as string }));
  const [first, last] = ranges[0].range.split(',');
  const today = new Date().toISOString().slice(0, 10);
  const covers = (date: string): boolean => first <= date && date <= (last === 'NOW' ? today : last);

  test('every table with an event_date partition projects the same fixed range (no NOW: future dates exist too)', () => {
    expect(ranges.map((r) => r.table)).toContain('events');
    expect(new Set(ranges.map((r) => r.range)).size).toBe(1);
    expect(first).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(last).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  test('it holds the RetailRocket readers\' earliest and latest accepted dates (years 2000..2100)', () => {
    const { earliest, latest } = acceptedDateBounds('retailrocket');
    expect({ earliest, latest }).toEqual({ earliest: '2000-01-01', latest: '2100-12-31' });
    expect({ earliest: covers(earliest), latest: covers(latest) }).toEqual({ earliest: true, latest: true });
  });

  test('REES46 dates inside the reference data and the RetailRocket range are covered', () => {
    for (const date of ['2019-10-01', '2020-02-29', '2000-01-01', '2100-12-31']) expect({ date, covered: covers(date) }).toEqual({ date, covered: true });
  });

  // Both REES46 readers accept years 2000..2100 only (reader_cases.json), as RetailRocket's do.
  test('it holds the REES46 readers\' earliest and latest accepted dates', () => {
    const { earliest, latest } = acceptedDateBounds('rees46');
    expect({ earliest: covers(earliest), latest: covers(latest) }).toEqual({ earliest: true, latest: true });
  });
});
