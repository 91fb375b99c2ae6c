import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** `npx cdk synth` as a user runs it: no AWS credentials, no Docker. */
function cdkSynth(outdir: string, ...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', DOCKER_HOST: 'unix:///nonexistent.sock' };
  for (const key of Object.keys(env)) if (key.startsWith('AWS_')) delete env[key];
  env.AWS_CONFIG_FILE = env.AWS_SHARED_CREDENTIALS_FILE = path.join(outdir, 'no-aws-config');
  return spawnSync('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', outdir, ...args], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf-8',
    timeout: 180_000,
  });
}

const templatesOf = (dir: string): Record<string, string> =>
  Object.fromEntries(
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.template.json'))
      .map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf-8')]),
  );

describe('npx cdk synth (the CLI)', () => {
  test('works without credentials or Docker and is deterministic: two synths, identical templates and assets', () => {
    const [a, b] = [1, 2].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-synth-')));
    for (const dir of [a, b]) {
      const result = cdkSynth(dir);
      expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr.slice(-2000) }).toEqual({ status: 0, stderr: '' });
    }
    const [ta, tb] = [templatesOf(a), templatesOf(b)];
    expect(Object.keys(ta)).toEqual(['ShopSight-dev.template.json']);
    expect(tb).toEqual(ta);
    const assetsOf = (dir: string) => fs.readdirSync(dir).filter((f) => f.startsWith('asset.')).sort();
    expect(assetsOf(b)).toEqual(assetsOf(a));
    const resources = Object.keys(JSON.parse(ta['ShopSight-dev.template.json']).Resources).length;
    expect(resources).toBeLessThan(500); // CloudFormation's per-stack limit
  });

  test('a bad context value fails the synth with a message naming the key and the allowed values', () => {
    const result = cdkSynth(fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-synth-')), '-c', 'stage=staging');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('Invalid CDK context "stage": "staging"; allowed: dev, prod');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
