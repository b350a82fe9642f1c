/** The compact form of PB bitmaps: round trips through both decoders, and corrupt blobs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BitmapDecoder, ENC_RAW, ENC_RUNS, decodeBitmapInto, encodeBitmap } from '../../src/engine/stats-codec.js';

function bitmapOf(tracks: number, set: (t: number) => boolean): Buffer {
  const b = Buffer.alloc(Math.ceil(tracks / 8));
  for (let t = 0; t < tracks; t++) if (set(t)) b[t >> 3]! |= 1 << (t & 7);
  return b;
}

test('encode picks runs for sparse or sequential tables and raw for dense ones; both decoders give the bits back', () => {
  let x = 7;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const cases: Array<[string, number, (t: number) => boolean, number]> = [
    ['empty (zero bytes, raw)', 1000, () => false, ENC_RAW],
    ['one track', 100_000, (t) => t === 77_777, ENC_RUNS],
    ['1% random', 200_000, () => rnd() < 0.01, ENC_RUNS],
    ['sequential run', 100_000, (t) => t >= 5 && t < 60_000, ENC_RUNS],
    ['last track', 1003, (t) => t === 1002, ENC_RUNS],
    ['50% random', 50_000, () => rnd() < 0.5, ENC_RAW],
  ];
  const wasm = new BitmapDecoder();
  const js = new BitmapDecoder({ wasm: false });
  for (const [name, tracks, f, want] of cases) {
    const bm = bitmapOf(tracks, f);
    const { enc, data } = encodeBitmap(bm);
    assert.equal(enc, want, name);
    const out = new Uint8Array(bm.length);
    decodeBitmapInto(enc, data, tracks, out);
    assert.ok(Buffer.from(out).equals(bm), `${name}: decodeBitmapInto`);
    for (const d of [wasm, js]) {
      const v = d.decode(enc, data, tracks);
      const full = Buffer.alloc(bm.length);
      full.set(v);
      assert.ok(full.equals(bm), `${name}: ${d.wasm ? 'wasm' : 'js'} decoder`);
    }
  }
});

test('corrupt blobs are integrity errors, never bits past the volume', () => {
  const d = new BitmapDecoder();
  const out = new Uint8Array(16);
  for (const blob of [[0x80], [0x81, 0x80], [200, 1], [1, 0xff, 0x7f]]) {
    assert.throws(() => decodeBitmapInto(ENC_RUNS, Buffer.from(blob), 100, out), { code: 'ERR_RCOPY_INTEGRITY' }, JSON.stringify(blob));
    assert.throws(() => d.decode(ENC_RUNS, Buffer.from(blob), 100), { code: 'ERR_RCOPY_INTEGRITY' }, JSON.stringify(blob));
  }
  assert.throws(() => decodeBitmapInto(ENC_RAW, Buffer.alloc(20), 100, new Uint8Array(13)), { code: 'ERR_RCOPY_INTEGRITY' });
  assert.throws(() => decodeBitmapInto(9, Buffer.alloc(1), 100, out), { code: 'ERR_RCOPY_INTEGRITY' });
});
