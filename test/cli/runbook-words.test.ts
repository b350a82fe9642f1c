/** The words of runbook commands, called directly: splitting, substitution, display, typos. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, references, showCommand, splitWords, substitute } from '../../src/cli/runbook/words.js';
import { type RcopyError } from '../../src/errors.js';

test('splitWords: whitespace separates, quotes group, backslash escapes', () => {
  assert.deepEqual(splitWords(`pair split  A:v1 --label "two words" 'it''s' a\\ b`), ['pair', 'split', 'A:v1', '--label', 'two words', 'its', 'a b']);
  assert.deepEqual(splitWords(`say "a \\"q\\" b"`), ['say', 'a "q" b']);
  assert.deepEqual(splitWords(`x ""`), ['x', '']);
  assert.throws(() => splitWords(`x "open`), /unterminated " quote/);
});

test('substitute fills ${name} once, keeps $${...} literal, refuses unknown names', () => {
  assert.equal(substitute('${a}:${b}', { a: 'A', b: '${a}' }), 'A:${a}');
  assert.equal(substitute('$${a} ${a}', { a: 'x' }), '${a} x');
  assert.deepEqual(references('${a}-$${b}-${c}'), ['a', 'c']);
  assert.throws(
    () => substitute('${nope}', {}),
    (e: RcopyError) => e.code === 'ERR_RCOPY_RUNBOOK' && /unknown variable/.test(e.message),
  );
});

test('showCommand quotes what needs it; closest finds likely typos only', () => {
  assert.equal(showCommand(['pair', 'split', 'A:v1']), 'rcopy pair split A:v1');
  assert.equal(showCommand(['io', 'write', "it's here"]), `rcopy io write 'it'\\''s here'`);
  assert.equal(closest('stpes', ['steps', 'vars']), 'steps');
  assert.equal(closest('zzzzzz', ['steps', 'vars']), undefined);
});
