/** The CLI's renderers, called directly: pure functions from data to text. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iso, render, toCsv } from '../../src/cli/render/output.js';
import { linkText } from '../../src/cli/render/journals.js';
import { pairListRows, pairListTable, type PairSides } from '../../src/cli/render/pairs.js';
import type { PairView } from '../../src/server/methods.js';

test('output formats: JSON, YAML, CSV from a table or from a list of records, and the default', async () => {
  const out = {
    data: [
      { a: 1, b: 'x,y' },
      { a: 2, c: { d: true } },
    ],
    table: {
      head: ['a', 'b'],
      rows: [
        [1, 'x,y'],
        [2, null],
      ],
    },
    text: 'two rows',
  };
  // every element of a list carries the schema version (the list stays an array)
  assert.equal(
    await render(out, 'json', false),
    JSON.stringify(
      out.data.map((r) => ({ schemaVersion: 1, ...r })),
      null,
      2,
    ),
  );
  assert.match(await render(out, 'yaml', false), /^- schemaVersion: 1\n {2}a: 1\n {2}b: x,y\n/);
  // an object carries it at the top; an epoch-ms time gets its ISO 8601 sibling
  const t = Date.UTC(2026, 0, 2, 3, 4, 5);
  assert.deepEqual(JSON.parse(await render({ data: { created: t, nested: [{ time: t }], count: 12 } }, 'json', false)), {
    schemaVersion: 1,
    created: t,
    createdAt: '2026-01-02T03:04:05.000Z',
    nested: [{ time: t, timeAt: '2026-01-02T03:04:05.000Z' }],
    count: 12,
  });
  assert.equal(await render(out, 'csv', false), 'a,b\n1,"x,y"\n2,');
  assert.equal(await render({ data: out.data }, 'csv', false), 'a,b,c\n1,"x,y",\n2,,"{""d"":true}"');
  // CSV carries raw values: an epoch-ms time keeps its number and has its ISO column beside it,
  // present (empty where absent) whether or not any row has a time
  assert.equal(
    await render(
      {
        data: [
          { id: 'p', imageTime: t },
          { id: 'q', imageTime: null },
        ],
      },
      'csv',
      false,
    ),
    'id,imageTime,imageTimeAt\np,1767323045000,2026-01-02T03:04:05.000Z\nq,,',
  );
  assert.equal(await render({ data: [{ id: 'q', imageTime: null }] }, 'csv', false), 'id,imageTime,imageTimeAt\nq,,');
  const table = await render(out, 'table', false);
  assert.match(table, /x,y/);
  assert.ok(table.endsWith('two rows'));
  assert.equal(await render({ data: { k: 'v' } }, 'table', false), 'k: v');
  assert.equal(await render({ text: 'only text', footer: 'after' }, 'table', false), 'only text\nafter');
});

test('CSV quotes what needs it; iso is empty for no time', () => {
  assert.equal(toCsv(['h'], [['a"b'], ['line\nbreak'], [undefined], [3]]), 'h\n"a""b"\n"line\nbreak"\n\n3');
  assert.equal(iso(0), '');
  assert.equal(iso(null), '');
  assert.equal(iso(Date.UTC(2026, 0, 2, 3, 4, 5)), '2026-01-02T03:04:05.000Z');
});

test('link text', () => {
  assert.equal(linkText('A', 'B', { up: true, bandwidth: null, latencyMs: 5 }), 'A <-> B: up, bandwidth unlimited, latency 5 ms');
  assert.match(linkText('A', 'B', { up: false, bandwidth: 100 * 1024 * 1024, latencyMs: 0 }), /^A <-> B: DOWN, bandwidth \S+.*latency 0 ms$/);
});

function view(over: Partial<PairView>): PairView {
  return {
    id: 'p1',
    group: 'g',
    role: 'P',
    array: 'A',
    volume: 'A:v',
    pvol: 'A:v',
    svol: 'B:v',
    journal: 'A:j',
    remoteJournal: 'B:j',
    mode: 'async',
    state: 'PAIR',
    stateSince: 0,
    reason: '',
    copyDone: 0,
    copyTotal: 0,
    resyncing: false,
    writable: false,
    imageTime: null,
    imageTracks: 0,
    changedTracks: 0,
    changedBytes: 0,
    journalUsedPct: null,
    journalEntries: null,
    journalBytes: null,
    lastSeq: null,
    oldestTimestamp: null,
    hint: null,
    ...over,
  };
}

test('pair list: one row per pair from both sides, behind and the resync estimate from the link', () => {
  const sides: PairSides = new Map([
    [
      'p1',
      {
        p: view({ state: 'PSUS', lastSeq: 10, journalBytes: 4096, journalUsedPct: 1.5, changedTracks: 2, changedBytes: 2 * 65536 }),
        s: view({ role: 'S', state: 'SSUS', restoredSeq: 7, copyPct: 100 }),
      },
    ],
    ['p2', { s: view({ id: 'p2', role: 'S', pvol: 'A:w', svol: 'C:w', state: 'COPY', copyPct: 40, changedBytes: 65536, changedTracks: 1 }) }],
  ]);
  const rows = pairListRows(sides, new Map([['A|B', 65536]]));
  assert.deepEqual(
    rows.map((r) => [r.id, r.pState, r.sState, r.entriesBehind, r.bytesBehind, r.lagSeconds, r.resyncSecondsEstimate]),
    [
      ['p1', 'PSUS', 'SSUS', 3, 4096, 0, 2],
      ['p2', null, 'COPY', null, null, null, null],
    ],
  );
  const t = pairListTable(rows)!;
  assert.equal(t.head.length, t.rows[0]!.length);
  assert.deepEqual(t.rows[0]!.slice(0, 5), ['A:v', 'B:v', 'async', 'PSUS/SSUS', '100%']);
  assert.equal(t.rows[1]![3], '?/COPY');
  assert.equal(t.rows[1]![9], 'link unlimited');
});
