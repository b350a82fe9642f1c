/**
 * `export start --tls-psk FILE`: the export requires TLS (NBD_OPT_STARTTLS, TLS-PSK). Real libnbd
 * clients (nbdcopy, nbdinfo) read and write through nbds:// with the right key; a wrong key, an
 * unknown user and a plain nbd:// client are refused in the handshake, and the controller goes on.
 * The PSK file is checked before anything changes, and the export keeps TLS across a restart.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { homeTest, type TestHome } from '../helpers.js';
import { exportUri, needs, randomImage, tool, toolOk } from './nbd-helpers.js';
import { sums } from './sites.js';

/** A PSK file as psktool writes it (`user:hexkey`), mode 0600. */
function pskFile(h: TestHome, name: string, lines: string[], mode = 0o600): string {
  const f = path.join(h.tempDir(), name);
  fs.writeFileSync(f, lines.map((l) => `${l}\n`).join(''), { mode });
  fs.chmodSync(f, mode);
  return f;
}

const hexKey = (): string => crypto.randomBytes(32).toString('hex');

/** The URI with another PSK file (and user) in it. */
function withKey(uri: string, file: string, user = 'alice'): string {
  return uri.replace(/tls-psk-file=[^&]*/, `tls-psk-file=${file}`).replace(/\/\/[^@/]*@/, `//${user}@`);
}

async function refused(uri: string): Promise<string> {
  const r = await tool(['nbdinfo', uri], 60_000);
  assert.notEqual(r.code, 0, `${uri} was not refused:\n${r.stdout}`);
  return r.stderr;
}

homeTest('a TLS-PSK export: nbdcopy writes and reads through nbds://; wrong key, unknown user and plain nbd:// are refused', needs('nbdinfo', 'nbdcopy'), async (h) => {
  await h.ok('array', 'create', 'A', '--durability', 'none');
  await h.ok('volume', 'create', 'A:v', '--size', '8M');
  const keys = pskFile(h, 'keys.psk', [`alice:${hexKey()}`, `bob:${hexKey()}`]);
  const uri = await exportUri(h, 'A:v', '--tls-psk', keys);
  assert.match(uri, /^nbds\+unix:\/\/alice@\/v\?socket=\/.*&tls-psk-file=\//);
  assert.match(await toolOk(['nbdinfo', uri]), /with TLS/);

  const img = randomImage(h, 8 * 1024 * 1024, 5);
  await toolOk(['nbdcopy', img.file, uri]);
  assert.deepEqual(await sums(h, 'A:v'), [img.sha256]);
  const back = path.join(h.tempDir(), 'back.raw');
  await toolOk(['nbdcopy', withKey(uri, keys, 'bob'), back]);
  assert.equal(crypto.createHash('sha256').update(fs.readFileSync(back)).digest('hex'), img.sha256, 'read back through TLS as the second user');

  // refused during the handshake: a plain client (NBD_REP_ERR_TLS_REQD), a wrong key, an unknown user
  await refused(uri.replace(/^nbds\+unix:\/\/alice@/, 'nbd+unix://').replace(/&tls-psk-file=.*$/, ''));
  await refused(withKey(uri, pskFile(h, 'wrong.psk', [`alice:${hexKey()}`])));
  await refused(withKey(uri, pskFile(h, 'carol.psk', [`carol:${hexKey()}`]), 'carol'));
  const list = await h.ok('export', 'list', 'A', '--json');
  assert.equal(list[0].serving, true, 'the controller serves on');
  assert.equal(list[0].tlsPsk, keys);
  assert.match(await toolOk(['nbdinfo', uri]), /with TLS/);
  assert.match((await h.run(['export', 'list', 'A'])).stdout, /rw\+tls/);
});

homeTest('a TLS export over TCP keeps TLS after a restart; a key file that became unsafe leaves it down with the reason', needs('nbdinfo'), async (h) => {
  await h.ok('array', 'create', 'A', '--durability', 'none');
  await h.ok('volume', 'create', 'A:v', '--size', '4M');
  const keys = pskFile(h, 'keys.psk', [`alice:${hexKey()}`]);
  const uri = await exportUri(h, 'A:v', '--listen', '127.0.0.1:0', '--tls-psk', keys);
  assert.match(uri, /^nbds:\/\/alice@127\.0\.0\.1:\d+\/v\?tls-psk-file=\//);
  assert.match(await toolOk(['nbdinfo', uri]), /export-size: 4194304/);
  await h.ok('array', 'stop', 'A');
  await h.ok('array', 'start', 'A');
  assert.equal((await h.ok('export', 'list', 'A', '--json'))[0].uri, uri);
  assert.match(await toolOk(['nbdinfo', uri]), /with TLS/);
  await refused(uri.replace(/^nbds:\/\/alice@/, 'nbd://').replace(/\?.*$/, ''));

  fs.chmodSync(keys, 0o644);
  await h.ok('array', 'stop', 'A');
  await h.ok('array', 'start', 'A');
  const [x] = await h.ok('export', 'list', 'A', '--json');
  assert.equal(x.serving, false);
  assert.match(x.error, /PSK file .* has mode 644/);
  await refused(uri);
});

homeTest('a bad PSK file is refused with a one-line coded error and changes nothing', async (h) => {
  await h.ok('array', 'create', 'A', '--durability', 'none');
  await h.ok('volume', 'create', 'A:v', '--size', '4M');
  const cases: Array<[string, number, string, RegExp]> = [
    [pskFile(h, 'open.psk', [`alice:${hexKey()}`], 0o644), 1, 'ERR_RCOPY_UNSAFE_FILE', /mode 644/],
    [pskFile(h, 'line2.psk', [`alice:${hexKey()}`, 'bob']), 2, 'ERR_RCOPY_BAD_INPUT', /line 2 has no ':'/],
    [pskFile(h, 'hex.psk', ['alice:abc']), 2, 'ERR_RCOPY_BAD_INPUT', /line 1: the key of 'alice'/],
    [pskFile(h, 'twice.psk', [`alice:${hexKey()}`, `alice:${hexKey()}`]), 2, 'ERR_RCOPY_BAD_INPUT', /twice/],
    [pskFile(h, 'empty.psk', []), 2, 'ERR_RCOPY_BAD_INPUT', /no keys/],
    [
      pskFile(
        h,
        'big.psk',
        Array.from({ length: 1100 }, (_, i) => `user${i}:${hexKey()}`),
      ),
      2,
      'ERR_RCOPY_BAD_INPUT',
      /larger than 65536 bytes/,
    ],
    [path.join(h.tempDir(), 'missing.psk'), 2, 'ERR_RCOPY_BAD_INPUT', /cannot open it \(ENOENT\)/],
  ];
  for (const [file, status, code, why] of cases) {
    const r = await h.fails(status, code, 'export', 'start', 'A:v', '--tls-psk', file);
    assert.match(r.stderr, why);
    assert.doesNotMatch(r.stderr, /[0-9a-f]{64}/, 'no key in the message');
  }
  assert.deepEqual(await h.ok('export', 'list', 'A', '--json'), []);
});
