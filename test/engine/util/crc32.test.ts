/**
 * crc32() is one function whichever implementation it is (the native SIMD one, zlib's, the table):
 * the journal's record crcs, the pull's data crcs and the reference index's block fingerprints must
 * agree across processes and builds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import zlib from 'node:zlib';
import { combineOp, combineOpFor, crc32, crc32Backend, crc32Combine, crc32Tail, tableCrc32 } from '../../../src/engine/util/crc32.js';

/** Lengths around the sizes the implementations switch strategies at, and the sizes rcopy uses. */
const LENGTHS = [0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 65, 127, 128, 255, 256, 511, 512, 513, 1023, 4095, 4096, 4097, 8192, 65535, 65536, 65537, 262144, 1048576 + 13];

test('on linux-x64 (where npm ci installs its binary) crc32 is the native one', () => {
  if (process.platform === 'linux' && process.arch === 'x64' && process.env.RCOPY_CRC32 !== 'zlib') assert.equal(crc32Backend, 'native');
  else assert.notEqual(crc32Backend, undefined);
});

test('crc32 equals zlib.crc32 and the table crc32 on random data of many lengths, offsets and initial values', () => {
  const data = crypto.randomBytes(1048576 + 13 + 64); // the longest length from the latest start
  const shared = Buffer.from(new SharedArrayBuffer(data.length));
  data.copy(shared);
  const lengths = [...LENGTHS, ...Array.from({ length: 200 }, () => crypto.randomInt(0, 100_000))];
  for (const len of lengths) {
    const at = crypto.randomInt(0, 64); // unaligned starts too
    const initial = crypto.randomInt(0, 2 ** 32);
    const b = data.subarray(at, at + len);
    const want = zlib.crc32(b);
    assert.equal(crc32(b), want, `${len} bytes at ${at}`);
    assert.equal(crc32(shared.subarray(at, at + len)), want, `${len} bytes at ${at}, shared memory`);
    assert.equal(crc32(new Uint8Array(data.buffer, data.byteOffset + at, len)), want, `${len} bytes at ${at}, a Uint8Array`);
    assert.equal(crc32(b, initial), zlib.crc32(b, initial), `${len} bytes from ${initial}`);
    if (len <= 70_000) assert.equal(tableCrc32(b, initial), zlib.crc32(b, initial), `table, ${len} bytes`);
  }
});

test('crc32 continues a crc, and combine, tail and the remembered ops agree with it', () => {
  for (let i = 0; i < 60; i++) {
    const A = crypto.randomBytes(crypto.randomInt(0, 20_000));
    const B = crypto.randomBytes(i < 10 ? LENGTHS[i * 3]! : crypto.randomInt(0, 300_000));
    const whole = zlib.crc32(Buffer.concat([A, B]));
    assert.equal(crc32(B, crc32(A)), whole, `${A.length} + ${B.length} bytes continued`);
    assert.equal(crc32Combine(crc32(A), crc32(B), combineOp(B.length)), whole, `${A.length} + ${B.length} bytes combined`);
    assert.equal(crc32Combine(crc32(A), crc32(B), combineOpFor(B.length)), whole);
    assert.equal(crc32Tail(whole, crc32(A), B.length), crc32(B), `${A.length} + ${B.length} bytes, tail`);
  }
});

test('RCOPY_CRC32=zlib makes crc32 zlib’s, with the same results', () => {
  const url = new URL('../../../src/engine/util/crc32.js', import.meta.url).href;
  const script = `import(${JSON.stringify(url)}).then((m) => console.log(JSON.stringify([m.crc32Backend, m.crc32(Buffer.from('123456789')), m.crc32(Buffer.alloc(100000, 7), 42)])))`;
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, RCOPY_CRC32: 'zlib' }, encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), ['zlib', 0xcbf43926, zlib.crc32(Buffer.alloc(100000, 7), 42)]);
});
