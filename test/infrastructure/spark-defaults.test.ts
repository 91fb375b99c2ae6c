/**
 * The EMR Serverless application's spark-defaults never contradict what the jobs set on their own
 * sessions (SPARK_SETTINGS in spark-jobs/shopsight_jobs/runtime.py): a job started by hand, or a
 * setting read before the session applies its own, must behave as the pipeline's jobs do.
 */
import * as fs from 'fs';
import * as path from 'path';
import { synthStage } from '../support/stack';

const RUNTIME_PY = path.join(__dirname, '..', '..', 'spark-jobs', 'shopsight_jobs', 'runtime.py');

/** The string-to-string dict literal `SPARK_SETTINGS = {…}` of runtime.py, read as text. */
function jobSparkSettings(): Record<string, string> {
  const source = fs.readFileSync(RUNTIME_PY, 'utf-8');
  const body = /^SPARK_SETTINGS\s*=\s*\{\n([\s\S]*?)\n\}/m.exec(source)?.[1];
  if (body === undefined) throw new Error(`no SPARK_SETTINGS = {…} block in ${RUNTIME_PY}`);
  const settings: Record<string, string> = {};
  for (const raw of body.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const entry = /^"([^"]+)"\s*:\s*"([^"]*)",?\s*(#.*)?$/.exec(line);
    if (!entry) throw new Error(`SPARK_SETTINGS line this test cannot read (only "key": "value" entries): ${line}`);
    settings[entry[1]] = entry[2];
  }
  return settings;
}

describe('EMR application spark-defaults and the jobs\' own Spark settings', () => {
  const { template } = synthStage();
  const [app] = Object.values(template.findResources('AWS::EMRServerless::Application'));
  const runtime = app.Properties.RuntimeConfiguration as Array<{ Classification: string; Properties: Record<string, string> }>;
  const defaults = runtime.find((c) => c.Classification === 'spark-defaults')?.Properties ?? {};
  const jobs = jobSparkSettings();

  test('runtime.py\'s SPARK_SETTINGS is read in full', () => {
    expect(jobs).toMatchObject({ 'spark.sql.session.timeZone': 'UTC', 'spark.sql.sources.partitionOverwriteMode': 'static' });
  });

  test('every setting both define has the same value', () => {
    const contradictions = Object.entries(defaults)
      .filter(([key, value]) => key in jobs && jobs[key] !== value)
      .map(([key, value]) => `${key}: application ${value}, jobs ${jobs[key]}`);
    expect(contradictions).toEqual([]);
  });

  test('partition overwrite is static at the application too: a run\'s folder is replaced whole', () => {
    expect(defaults['spark.sql.sources.partitionOverwriteMode'] ?? 'static').toBe('static');
  });
});
