/** rcopy demo: the whole tour runs, every step succeeds, and it leaves no controller behind. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { homeTest } from '../helpers.js';

homeTest('rcopy demo runs the full tour in under a minute and stops its controllers', async (h) => {
  const r = await h.run(['demo', '--json'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const d = r.json();
  assert.ok(d.seconds < 60, `the tour took ${d.seconds} s`);
  const cmds: string[] = d.steps.map((s: any) => s.command);
  for (const want of ['pair create', 'workload run', 'pair split', 'pair resync', 'pair takeover', '--swap', 'backup create', 'stats report']) {
    assert.ok(
      cmds.some((c) => c.includes(want)),
      `the tour shows ${want}`,
    );
  }
  assert.ok(d.steps.every((s: any) => s.exitCode === 0));
  const left = spawnSync('sh', ['-c', "ps -eo args | grep 'controller.js' | grep 'rcopy-demo-' | grep -v grep"], { encoding: 'utf8' }).stdout.trim();
  assert.equal(left, '', 'the demo stopped every controller it started');
  // the demo's home is thrown away; the caller's home is untouched
  assert.deepEqual(await h.ok('array', 'list', '--json'), []);
});
