/** The PSK file parser (src/server/psk-file.ts): the nbdkit/psktool format, and what it refuses. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RcopyError } from '../../src/errors.js';
import { parsePsk } from '../../src/server/psk-file.js';

test('username:hexkey lines, blank lines and CRLF; keys by identity, users in file order', () => {
  const k = parsePsk('f', 'alice:00ff10\r\n\nbob:ABCDEF\n');
  assert.deepEqual(k.users, ['alice', 'bob']);
  assert.deepEqual(k.key('alice'), Buffer.from([0, 0xff, 0x10]));
  assert.deepEqual(k.key('bob'), Buffer.from([0xab, 0xcd, 0xef]));
  assert.equal(k.key('carol'), null);
});

test('a bad line refuses the whole file with its number, and never shows a key', () => {
  const bad: Array<[string, RegExp]> = [
    ['alice:0011\nbob\n', /line 2 has no ':'/],
    [':0011\n', /line 1: the user name/],
    ['al ice:0011\n', /line 1: the user name/],
    ['alice:001\n', /line 1: the key of 'alice'/],
    ['alice:zz\n', /line 1: the key of 'alice'/],
    [`alice:${'00'.repeat(65)}\n`, /1 to 64 bytes/],
    ['alice:00\nalice:11\n', /twice/],
    ['\n\n', /no keys/],
  ];
  for (const [text, why] of bad) {
    assert.throws(
      () => parsePsk('keys.psk', text),
      (e: unknown) => e instanceof RcopyError && e.code === 'ERR_RCOPY_BAD_INPUT' && why.test(e.message) && !e.message.includes('\n') && e.message.includes('keys.psk'),
      text,
    );
  }
});
