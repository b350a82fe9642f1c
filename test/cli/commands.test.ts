/** Command functions called directly with a context: their data, text and error codes, no subprocess. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CliContext } from '../../src/cli/context.js';
import * as array from '../../src/cli/commands/array.js';
import { completion } from '../../src/cli/commands/completion.js';
import '../../src/cli/program.js'; // completion reads the program tree it registers
import { type RcopyError } from '../../src/errors.js';
import { homeTest } from '../helpers.js';

function context(home: string): CliContext {
  return { home, format: 'table', color: false, interactive: false, yes: false, progress: false };
}

homeTest('array list on an empty home: no rows and a hint; array show of a missing array: ERR_RCOPY_NO_ARRAY', async (h) => {
  const out = await array.list(context(h.dir));
  assert.deepEqual(out.data, []);
  assert.match(out.text ?? '', /^no arrays in .* \(create one with: rcopy array create NAME\)$/);
  await assert.rejects(array.show(context(h.dir), ['nope']), (e: RcopyError) => e.code === 'ERR_RCOPY_NO_ARRAY' && e.exitCode === 2);
  // without a terminal, a missing argument is a usage error naming it (no prompt)
  await assert.rejects(array.show(context(h.dir), []), (e: RcopyError) => e.code === 'ERR_RCOPY_USAGE' && /missing the array name/.test(e.message));
});

test('completion returns the script as data and text; an unknown shell is a usage error', async () => {
  const out = await completion(context('/nonexistent'), ['bash']);
  const data = out.data as { shell: string; script: string };
  assert.equal(data.shell, 'bash');
  assert.match(data.script, /complete -F/);
  assert.match(data.script, /\bpair\b/);
  assert.equal(out.text, data.script.trimEnd());
  await assert.rejects(completion(context('/nonexistent'), ['powershell']), (e: RcopyError) => e.code === 'ERR_RCOPY_USAGE');
});
