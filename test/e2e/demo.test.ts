/** rcopy demo: the whole tour runs, every step succeeds, and it leaves no controller behind. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { homeTest } from '../helpers.js';
import { have } from './nbd-helpers.js';

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
  // a real NBD client wrote a disk image into the exported P-VOL, and it arrived on the S-VOL
  if (have('nbdcopy') || have('qemu-img')) {
    assert.ok(cmds.some((c) => c.startsWith('rcopy export start siteA:db')));
    assert.ok(
      cmds.some((c) => /^(nbdcopy|qemu-img) /.test(c)),
      'the tour runs a real NBD client',
    );
    assert.match(d.nbd.imageSha256, /^[0-9a-f]{64}$/);
    assert.equal(d.nbd.svolSha256, d.nbd.imageSha256, "the S-VOL holds the image's bytes");
  } else assert.equal(d.nbd, null);
  const left = spawnSync('sh', ['-c', "ps -eo args | grep 'controller.js' | grep 'rcopy-demo-' | grep -v grep"], { encoding: 'utf8' }).stdout.trim();
  assert.equal(left, '', 'the demo stopped every controller it started');
  // the demo's home is thrown away; the caller's home is untouched
  assert.deepEqual(await h.ok('array', 'list', '--json'), []);
});
