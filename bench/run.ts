/**
 * npm run bench: every benchmark in sequence, each compared with its peer in the same run.
 * Pick some with: npm run bench -- core replication drill backup stats journal references io tcp nbd verify
 * Every row the benches record goes into one table (bench/table.ts) with the commit and the load:
 * bench/RESULTS.md, and with --readme also the README's benchmark table.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commitOf, intoReadme, markdown, readRows, type RunInfo } from './table.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const ALL: Record<string, string[]> = {
  core: ['core.js'],
  replication: ['replication.js'],
  drill: ['drill.js'],
  journal: ['journal-append.js'],
  backup: ['backup.js'],
  stats: ['stats-import.js', 'stats-report.js', 'stats-writepath.js', 'stats-simulate.js'],
  references: ['references.js'],
  io: ['file-io.js'],
  tcp: ['tcp.js'],
  nbd: ['nbd.js'],
  verify: ['verify.js'],
};
const args = process.argv.slice(2);
const pick = args.filter((a) => !a.startsWith('-'));
const unknown = pick.filter((g) => !ALL[g]);
if (unknown.length) {
  console.error(`unknown bench group: ${unknown.join(', ')} (groups: ${Object.keys(ALL).join(' ')})`);
  process.exit(2);
}
const groups = pick.length ? pick : Object.keys(ALL);
const load = (): number => Number(os.loadavg()[0]!.toFixed(1));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rcopy-bench-run-'));
const rowsFile = path.join(tmp, 'rows.jsonl');
const info: RunInfo = { command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`, started: new Date(), ended: new Date(), groups: [] };
const commit = commitOf(root);
try {
  for (const g of groups) {
    const t0 = performance.now();
    const loadBefore = load();
    let failed = false;
    for (const f of ALL[g]!) {
      const file = path.join(here, f);
      if (!fs.existsSync(file)) {
        console.log(`\n== ${g}: ${f} (not built)`);
        failed = true;
        continue;
      }
      console.log(`\n== ${g}: ${f}`);
      const r = spawnSync(process.execPath, [file], { stdio: 'inherit', env: { ...process.env, RCOPY_BENCH_RESULTS: rowsFile, RCOPY_BENCH_GROUP: g } });
      if (r.status !== 0) failed = true;
    }
    info.groups.push({ group: g, seconds: (performance.now() - t0) / 1000, loadBefore, loadAfter: load(), failed });
  }
  info.ended = new Date();
  const table = markdown(readRows(rowsFile), info, commit);
  const out = path.join(root, 'bench', 'RESULTS.md');
  fs.writeFileSync(out, `# Benchmark results\n\n${table}`);
  console.log(`\nthe table of this run: ${path.relative(process.cwd(), out)}`);
  if (args.includes('--readme')) {
    intoReadme(path.join(root, 'README.md'), table);
    console.log('README.md: benchmark table replaced');
  }
  process.exitCode = info.groups.some((g) => g.failed) ? 1 : 0;
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
