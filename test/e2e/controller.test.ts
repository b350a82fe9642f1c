/**
 * One array, one controller: the single writer of an array's files. Controllers started at the
 * same moment (several commands auto-starting it, a cron job beside a shell) must leave exactly one
 * running and answering, also when the last one was killed with kill -9 and left its pid file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, arrayDirOf, homeTest, waitFor } from '../helpers.js';

const CONTROLLER_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/server/controller.js');

homeTest('controllers started at the same moment for one array: exactly one runs, and it answers', { timeout: 300_000 }, async (h) => {
  await h.ok('array', 'create', 'B', '--durability', 'none');
  await h.ok('volume', 'create', 'B:v', '--size', '4M');
  const dir = arrayDirOf(h, 'B');
  for (let round = 0; round < 6; round++) {
    // the last controller died by kill -9: its pid file stays behind
    const st = await h.ok('array', 'status', 'B', '--json');
    process.kill(st.pid, 'SIGKILL');
    await waitFor(() => !alive(st.pid), 30_000, 20);
    assert.ok(fs.existsSync(path.join(dir, 'controller.pid')), 'a killed controller leaves its pid file');
    const kids = Array.from({ length: 6 }, () => spawn(process.execPath, [CONTROLLER_JS, dir, h.dir], { stdio: 'ignore', env: { ...process.env, RCOPY_HOME: h.dir } }));
    const exited = kids.map((k) => new Promise<void>((res) => k.once('exit', () => res())));
    // all but one give up at once; the one left runs until it is stopped
    await waitFor(() => kids.filter((k) => k.exitCode === null && k.signalCode === null).length <= 1, 60_000, 50);
    const running = kids.filter((k) => k.exitCode === null && k.signalCode === null);
    assert.equal(running.length, 1, `round ${round}: ${running.length} controllers run for one array`);
    const again = await h.ok('array', 'status', 'B', '--json');
    assert.equal(again.pid, running[0]!.pid, `round ${round}: the controller that answers is the one that runs`);
    await h.ok('io', 'write', 'B:v', '--pattern', '0x5a', '--length', '64k');
    if (round === 5) {
      await h.ok('array', 'stop', 'B');
      // once the stop has returned the controller writes nothing more: its log is complete
      const log = fs.readFileSync(path.join(dir, 'controller.log'), 'utf8').trimEnd().split('\n');
      assert.match(log[log.length - 1]!, /\[B\] stopped$/, 'the last line is written before the stop returns');
      await Promise.all(exited);
    } else {
      for (const k of kids) if (k.pid !== running[0]!.pid) await exited[kids.indexOf(k)];
    }
  }
});
