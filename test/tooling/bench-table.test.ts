/**
 * The table of one `npm run bench` run (bench/table.ts): targets judged from the ratio, rows kept in
 * the order recorded, and the README's block replaced only between its markers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { judge } from '../../bench/lib.js';
import { END, START, intoReadme, markdown, readRows, type RecordedRow } from '../../bench/table.js';

test('a target is judged against the ratio by its operator, and informational rows are not judged', () => {
  assert.equal(judge('>= 0.80', 0.8), true);
  assert.equal(judge('>= 0.80', 0.79), false);
  assert.equal(judge('> 1', 1), false);
  assert.equal(judge('<= 3', 2.5), true);
  assert.equal(judge('< 5', 5), false);
  assert.equal(judge('>= 33.3 (at most 3% of a full)', 34), true);
  assert.equal(judge('', 2), null);
  assert.equal(judge(undefined, 2), null);
  assert.equal(judge('fewer link bytes than references off', 2), null);
});

test('the run table lists every recorded row with its group, verdict and load, and the README block is replaced between the markers only', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rcopy-bench-table-'));
  try {
    const rows: RecordedRow[] = [
      { group: 'replication', load: 1.5, name: 'pull | restore', rcopy: '2.0 s', peer: 'the two copies 1.8 s', ratio: '0.90', target: '>= 0.80', met: true, note: 'rounds 0.9 0.8' },
      { group: 'nbd', load: 2, name: 'plain', rcopy: '3 s', peer: 'nbdkit 2 s', ratio: '0.67', target: '>= 0.80', met: false, note: '' },
    ];
    const file = path.join(dir, 'rows.jsonl');
    fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const read = readRows(file);
    assert.deepEqual(read, rows);
    const t0 = new Date('2026-12-01T12:00:00Z');
    const info = { command: 'npm run bench', started: t0, ended: new Date(t0.getTime() + 60_000), groups: [{ group: 'nbd', seconds: 60, loadBefore: 1, loadAfter: 2, failed: true }] };
    const md = markdown(read, info, 'abc123');
    const lines = md.split('\n').filter((l) => l.startsWith('| replication') || l.startsWith('| nbd'));
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /pull \\\| restore/); // a | in a cell does not split it
    assert.match(lines[0]!, /\| met \|/);
    assert.match(lines[1]!, /\*\*not met\*\*/);
    assert.match(md, /commit `abc123`/);
    assert.match(md, /Failed \(no rows or partial rows\): nbd/);

    const readme = path.join(dir, 'README.md');
    fs.writeFileSync(readme, `# x\nbefore\n${START}\nold table\n${END}\nafter\n`);
    intoReadme(readme, md);
    const text = fs.readFileSync(readme, 'utf8');
    assert.ok(text.startsWith(`# x\nbefore\n${START}\n`));
    assert.ok(text.endsWith(`${END}\nafter\n`));
    assert.ok(!text.includes('old table'));
    assert.ok(text.includes('commit `abc123`'));
    fs.writeFileSync(readme, '# no markers\n');
    assert.throws(() => intoReadme(readme, md), /markers are missing/);
    assert.equal(fs.readFileSync(readme, 'utf8'), '# no markers\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
