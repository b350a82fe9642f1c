/** The PSK file parser (src/server/psk-file.ts): the nbdkit/psktool format, and what it refuses. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RcopyError } from '../../src/errors.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePsk, readPskFile } from '../../src/server/psk-file.js';
import { readTcpPsk } from '../../src/server/transport/secrets.js';

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

test('the TCP transport reads its PSK files with the same reader and refuses keys under 16 bytes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rcopy-psk-'));
  try {
    const file = path.join(dir, 'keys.psk');
    fs.writeFileSync(file, `rcopy:${'ab'.repeat(16)}\nshort:${'cd'.repeat(15)}\n`, { mode: 0o600 });
    assert.equal(readPskFile(file).users.length, 2);
    assert.throws(
      () => readTcpPsk(file),
      (e: unknown) => e instanceof RcopyError && e.code === 'ERR_RCOPY_BAD_INPUT' && /'short' is shorter than 16 bytes/.test(e.message) && !e.message.includes('cd'.repeat(15)),
    );
    fs.writeFileSync(file, `rcopy:${'ab'.repeat(32)}\n`, { mode: 0o600 });
    assert.deepEqual(readTcpPsk(file).key('rcopy'), Buffer.from('ab'.repeat(32), 'hex'));
    // the same private-file rule as an NBD export's key file
    fs.chmodSync(file, 0o644);
    assert.throws(
      () => readTcpPsk(file),
      (e: unknown) => e instanceof RcopyError && e.code === 'ERR_RCOPY_UNSAFE_FILE',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
