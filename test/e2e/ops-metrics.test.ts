/** Metrics: the textfile and the controller's /metrics parse with promtool, and match pair show. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { homeTest, type TestHome } from '../helpers.js';
import { assertSchema } from './ops-schema.js';
import { twoSites } from './sites.js';

/** promtool (Debian's prometheus package) checks the text; exit 0 means it parsed and linted clean. */
function promtool(text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.error, undefined, `promtool could not run (apt-get install prometheus): ${r.error?.message}`);
  assert.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
}

/** The value of one series (name and labels exactly as given, in any order), after promtool accepted the text. */
function value(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2]!.matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  assert.fail(`no series ${name}${JSON.stringify(labels)} in:\n${text}`);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The series of pair show's figures; `both`: the text has the primary array's series too. */
function matchesShow(text: string, show: any, both = true): void {
  const l = { array: 'B', pair: 'A:v', svol: 'B:v' };
  assert.equal(value(text, 'rcopy_pair_entries_behind', l), show.entriesBehind);
  assert.equal(value(text, 'rcopy_pair_bytes_behind', l), show.bytesBehind);
  assert.ok(Math.abs(value(text, 'rcopy_pair_rpo_seconds', l) - show.rpoSeconds) < 0.001, `rpo ${show.rpoSeconds}`);
  assert.equal(value(text, 'rcopy_pair_consistency_time_seconds', l), Date.parse(show.consistencyTime) / 1000);
  assert.equal(value(text, 'rcopy_pair_state', { ...l, role: 'S', state: show.secondary.state }), 1);
  assert.equal(value(text, 'rcopy_pair_state', { ...l, role: 'S', state: 'PSUE' }), 0);
  if (!both) return;
  assert.equal(value(text, 'rcopy_pair_state', { array: 'A', pair: 'A:v', role: 'P', state: show.primary.state }), 1);
  assert.equal(value(text, 'rcopy_journal_used_bytes', { array: 'A', journal: 'j1' }) > 0, show.primary.journalEntries > 0);
}

async function scrape(url: string, openMetrics = false): Promise<{ type: string; text: string }> {
  const r = await fetch(url, { headers: openMetrics ? { accept: 'application/openmetrics-text; version=1.0.0' } : {} });
  assert.equal(r.status, 200);
  return { type: r.headers.get('content-type') ?? '', text: await r.text() };
}

homeTest('metrics: textfile written atomically and /metrics served by the controller, parsed by promtool, equal to pair show', { timeout: 300_000 }, async (h: TestHome) => {
  await twoSites(h, { size: '16M', durability: 'none' });
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '1M', '--seed', '1');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await h.ok('pull', 'stop', 'B:j2');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '512K', '--seed', '2');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '256K', '--seed', '3', '--offset', '2M');
  const show = await h.ok('pair', 'show', 'B:v', '--json');
  assert.ok(show.entriesBehind > 0 && show.rpoSeconds > 0);

  const dir = h.tempDir();
  const out = await h.ok('metrics', '--textfile', dir, '--json');
  assertSchema('metrics', out);
  assert.equal(out.file, path.join(dir, 'rcopy.prom'));
  assert.deepEqual(fs.readdirSync(dir), ['rcopy.prom'], 'no temporary file left behind');
  const text = fs.readFileSync(out.file, 'utf8');
  promtool(text);
  matchesShow(text, show);
  assert.equal(value(text, 'rcopy_host_write_bytes_total', { array: 'A', volume: 'v' }), 1024 * 1024 + 768 * 1024);
  assert.equal(value(text, 'rcopy_host_write_latency_seconds_count', { array: 'A' }), 3);
  assert.equal(value(text, 'rcopy_pull_logical_bytes_total', { array: 'B', journal: 'j2' }), show.secondary.pull.logicalBytes);
  assert.equal(value(text, 'rcopy_controller_up', { array: 'A' }), 1);
  // every pull round that got a reply is timed: at least the rounds that moved the first 1 MiB
  const rounds = value(text, 'rcopy_pull_duration_seconds_count', { array: 'B', journal: 'j2' });
  assert.ok(rounds >= 1 && rounds <= value(text, 'rcopy_pulls_total', { array: 'B', journal: 'j2' }), `pull rounds timed: ${rounds}`);
  assert.ok(value(text, 'rcopy_pull_duration_seconds_sum', { array: 'B', journal: 'j2' }) > 0);
  // a second run replaces the file whole
  await h.ok('metrics', '--textfile', dir);
  assert.deepEqual(fs.readdirSync(dir), ['rcopy.prom']);

  // the controller serves /metrics; the address is kept across a restart
  const port = await freePort();
  const served = await h.ok('array', 'serve-metrics', 'B', '--listen', `127.0.0.1:${port}`, '--json');
  assertSchema('serve-metrics', served);
  assert.equal(served.url, `http://127.0.0.1:${port}/metrics`);
  const body = await scrape(served.url);
  assert.match(body.type, /^text\/plain; version=0\.0\.4/);
  promtool(body.text);
  matchesShow(body.text, show, false);
  const om = await scrape(served.url, true);
  assert.match(om.type, /^application\/openmetrics-text/);
  assert.ok(om.text.trimEnd().endsWith('# EOF'), 'OpenMetrics ends with # EOF');
  assert.match(om.text, /^rcopy_pulls_total\{journal="j2",array="B"\} \d+$/m);
  const starts = value(body.text, 'rcopy_controller_starts', { array: 'B' });

  await h.ok('array', 'stop', 'B');
  await h.ok('array', 'start', 'B');
  const again = await scrape(served.url);
  assert.equal(value(again.text, 'rcopy_controller_starts', { array: 'B' }), starts + 1, 'a restart is counted');
  await h.ok('array', 'serve-metrics', 'B', '--stop');
  await assert.rejects(fetch(served.url), 'nothing listens after --stop');

  // an array whose controller is down is reported, not started
  await h.ok('array', 'stop', 'A');
  const down = await h.ok('metrics', '--json');
  assertSchema('metrics', down);
  assert.equal(down.arrays.A, false);
  assert.equal(value(down.openMetrics, 'rcopy_controller_up', { array: 'A' }), 0);
  await h.fails(2, 'ERR_RCOPY_BAD_INPUT', 'array', 'serve-metrics', 'B', '--listen', 'nowhere');
});
