/**
 * Every listing and show command's --json against its JSON Schema in schemas/ (ajv), on real
 * controllers: schemaVersion on an object result, on each element of a list (lists stay arrays),
 * and beside every epoch-ms time its ISO 8601 sibling (`created` → `createdAt`).
 */
import assert from 'node:assert/strict';
import { homeTest, type TestHome } from '../helpers.js';
import { assertSchema } from './ops-schema.js';
import { twoSites } from './sites.js';

/** Each epoch-ms number (2001..2286) found, with whether its ISO sibling is there and equal. */
function msTimes(v: unknown, path = '$', out: Array<{ path: string; ok: boolean }> = []): Array<{ path: string; ok: boolean }> {
  if (Array.isArray(v)) v.forEach((x, i) => msTimes(x, `${path}[${i}]`, out));
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const [k, x] of Object.entries(o)) {
      if (typeof x === 'number' && Number.isInteger(x) && x >= 1e12 && x < 1e13) {
        const sib = o[k.endsWith('At') ? `${k}Iso` : `${k}At`];
        out.push({ path: `${path}.${k}`, ok: sib === new Date(x).toISOString() });
      }
      msTimes(x, `${path}.${k}`, out);
    }
  }
  return out;
}

async function checked(h: TestHome, schema: string, ...args: string[]): Promise<any> {
  const r = await h.run([...args, '--json']);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  const j = r.json();
  assertSchema(schema, j);
  for (const el of Array.isArray(j) ? j : [j]) assert.equal(el.schemaVersion, 1, `${args.join(' ')}: schemaVersion`);
  const bad = msTimes(j).filter((t) => !t.ok);
  assert.deepEqual(bad, [], `${args.join(' ')}: epoch-ms times without their ISO 8601 sibling`);
  return j;
}

homeTest('--json of every listing and show command matches its schema, versioned, with ISO times', { timeout: 300_000 }, async (h) => {
  await twoSites(h, { size: '8M', durability: 'none' });
  await h.ok('volume', 'create', 'A:bk', '--size', '8M');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '1M', '--seed', '1');
  await h.ok('pair', 'wait', 'B:v', '--drained', '--timeout', '60s');
  await h.ok('backup', 'create', 'A:v', '--to', 'A:bk');
  await h.ok('backup', 'verify', 'A:bk-000001');
  await h.ok('export', 'start', 'A:v');
  await h.ok('stats', 'define', 'A:g', '--volumes', 'v', '--interval', '1h');
  await h.ok('stats', 'start', 'A:g');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '256k', '--seed', '2');
  await h.ok('stats', 'collect', 'A:g');

  const look = async (): Promise<void> => {
    await checked(h, 'array-list', 'array', 'list');
    await checked(h, 'array-show', 'array', 'show', 'A');
    await checked(h, 'array-status', 'array', 'status', 'A');
    await checked(h, 'volume-list', 'volume', 'list', 'A');
    await checked(h, 'volume-show', 'volume', 'show', 'A:v');
    await checked(h, 'journal-list', 'journal', 'list', 'A');
    await checked(h, 'journal-show', 'journal', 'show', 'B:j2');
    await checked(h, 'link-list', 'link', 'list');
    await checked(h, 'pull-status', 'pull', 'status', 'B:j2');
    await checked(h, 'backup-list', 'backup', 'list', 'A');
    await checked(h, 'backup-show', 'backup', 'show', 'A:bk-000001');
    await checked(h, 'export-list', 'export', 'list');
    await checked(h, 'stats-list', 'stats', 'list', 'A');
    await checked(h, 'stats-report', 'stats', 'report', 'A:g', '--window', '1h');
    for (const side of ['A:v', 'B:v']) await checked(h, 'pair-show', 'pair', 'show', side);
  };
  await look();
  const inPair = await checked(h, 'pair-list', 'pair', 'list');
  assert.ok(Array.isArray(inPair), 'pair list --json stays an array');
  assert.equal(inPair[0].pState, 'PAIR');
  assert.equal(inPair[0].imageTime, null);

  // split: an image time (ms, and ISO beside it), then the same commands again
  await h.ok('pair', 'split', 'B:v');
  await h.ok('io', 'write', 'A:v', '--pattern', 'random', '--length', '64k', '--seed', '3');
  const split = await checked(h, 'pair-list', 'pair', 'list');
  assert.equal(split[0].sState, 'SSUS');
  assert.equal(typeof split[0].imageTime, 'number');
  assert.equal(split[0].imageTimeAt, new Date(split[0].imageTime).toISOString());
  await look();
  await h.ok('pair', 'resync', 'B:v');
  await checked(h, 'pair-list', 'pair', 'list');
  await look();

  // YAML carries the same document; CSV stays the raw rows (no schemaVersion column)
  assert.match(await h.ok('array', 'show', 'A', '--format', 'yaml'), /^schemaVersion: 1$/m);
  const csv = await h.ok('pair', 'list', '--format', 'csv');
  assert.ok(!String(csv).split('\n')[0]!.includes('schemaVersion'));
});
