/**
 * npm run bench: every benchmark in sequence, each compared with its peer in the same run.
 * Pick some with: npm run bench -- core replication backup stats journal references io tcp nbd verify
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
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
const pick = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const groups = pick.length ? pick : Object.keys(ALL);
let failed = 0;
for (const g of groups) {
  for (const f of ALL[g] ?? []) {
    const file = path.join(here, f);
    if (!fs.existsSync(file)) {
      console.log(`\n== ${g}: ${f} (not built)`);
      continue;
    }
    console.log(`\n== ${g}: ${f}`);
    const r = spawnSync(process.execPath, [file], { stdio: 'inherit' });
    if (r.status !== 0) failed++;
  }
}
process.exitCode = failed ? 1 : 0;
