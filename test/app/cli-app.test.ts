/**
 * `shopsight app` as a command (the real bin in a child process): it prints the URL it really
 * listens on (--port 0 picks one), serves until SIGTERM / SIGINT and then exits 0; it refuses a
 * RUN_DIR that is not a run folder and a --workdir it did not create (exit 2, nothing written), and
 * a taken port exits 1 naming the port.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'local', 'cli', 'bin.js');

let tmp: string;

/** A run folder as the registry knows one: the run's marker and its summary (no tables). */
function fakeRun(dir: string, runId: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, '.shopsight-run.json'), JSON.stringify({ tool: 'shopsight', kind: 'run', runId, engineVersion: '0', createdAt: new Date().toISOString(), entries: ['run-summary.json'] }));
  fs.writeFileSync(path.join(dir, 'run-summary.json'), JSON.stringify({ runId, dataset: 'rees46', files: [], totals: {}, stages: [] }));
  return dir;
}

function shopsight(args: string[], cwd = tmp): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: '1' }, encoding: 'utf8', timeout: 60_000 });
}

/** Starts the app; resolves with its printed URL. */
function startApp(args: string[], cwd = tmp): { child: ChildProcess; url: Promise<string>; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, 'app', ...args], { cwd, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^ShopSight app: (http:\/\/\S+\/)$/m.exec(out);
      if (m) resolve(m[1]);
    });
    void exit.then((code) => reject(new Error(`app exited ${code} before printing its URL\n${out}\n${err}`)));
  });
  return { child, url, exit, stderr: () => err };
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shopsight-cli-app-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('with no RUN_DIR it serves ./shopsight-demo, prints its real URL, and SIGTERM stops it with exit 0', async () => {
  fakeRun(path.join(tmp, 'shopsight-demo'), 'demo-run');
  const app = startApp(['--port', '0']);
  const url = await app.url;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  expect(Number(new URL(url).port)).toBeGreaterThan(0);
  expect(await (await fetch(`${url}api/health`)).json()).toEqual({ status: 'ok' });
  const runs = (await (await fetch(`${url}api/runs`)).json()) as { runs: { id: string; folder: string }[] };
  expect(runs.runs.map((r) => r.id)).toEqual(['demo-run']);
  // The default workdir is ours: created with our marker.
  expect(fs.existsSync(path.join(tmp, 'shopsight-app-runs', '.shopsight-app.json'))).toBe(true);
  const stopped = Date.now();
  app.child.kill('SIGTERM');
  expect(await app.exit).toBe(0);
  expect(Date.now() - stopped).toBeLessThan(10_000);
  await expect(fetch(`${url}api/health`)).rejects.toThrow();
}, 60_000);

test('--host beyond loopback warns that there is no authentication; SIGINT stops it with exit 0', async () => {
  const run = fakeRun(path.join(tmp, 'run-a'), 'run-a');
  const app = startApp([run, '--port', '0', '--host', '0.0.0.0', '--workdir', path.join(tmp, 'wd-a')]);
  const url = await app.url;
  expect(url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/$/);
  expect(app.stderr()).toMatch(/warning: .*no authentication/);
  expect(app.stderr()).toMatch(/note: requests must name this server .*--allow-host/);
  const port = new URL(url).port;
  expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBe(200);
  app.child.kill('SIGINT');
  expect(await app.exit).toBe(0);
}, 60_000);

test('a RUN_DIR that is not a run folder is refused with exit 2', () => {
  fs.mkdirSync(path.join(tmp, 'plain'), { recursive: true });
  for (const dir of [path.join(tmp, 'plain'), path.join(tmp, 'missing')]) {
    const r = shopsight(['app', dir, '--port', '0', '--workdir', path.join(tmp, 'wd-b')]);
    expect({ dir, status: r.status }).toEqual({ dir, status: 2 });
    expect(r.stderr).toContain(dir);
    expect(r.stderr).toMatch(/not a shopsight run folder|no such folder/);
  }
  expect(fs.existsSync(path.join(tmp, 'wd-b'))).toBe(false);
}, 60_000);

test('a --workdir that we did not create and is not empty is refused with exit 2, left as it was', () => {
  const foreign = path.join(tmp, 'someone-elses');
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
  const r = shopsight(['app', fakeRun(path.join(tmp, 'run-c'), 'run-c'), '--port', '0', '--workdir', foreign]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/--workdir .*someone-elses is not empty and was not created by shopsight app/);
  expect(fs.readdirSync(foreign)).toEqual(['notes.txt']);
}, 60_000);

test('bad options exit 2; --help exits 0', () => {
  for (const args of [['--port', 'eighty'], ['--port', '70000'], ['--max-upload-mb', '0'], ['--allow-host', 'evil.example:80'], ['--allow-host', 'a/b'], ['--color']]) {
    const r = shopsight(['app', ...args]);
    expect({ args, status: r.status }).toEqual({ args, status: 2 });
    expect(r.stderr).toMatch(/^shopsight: /);
  }
  const help = shopsight(['app', '--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: shopsight app \[RUN_DIR…\]/);
  expect(shopsight(['--help']).stdout).toMatch(/\n {2}app {8}/);
}, 60_000);

test('a taken port exits 1 and names the port', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const r = shopsight(['app', fakeRun(path.join(tmp, 'run-d'), 'run-d'), '--port', String(port), '--workdir', path.join(tmp, 'wd-d')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
    expect(r.stderr).toMatch(/port is taken/);
  } finally {
    server.close();
  }
}, 60_000);
