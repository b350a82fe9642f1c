/** The compact form of PB bitmaps: round trips through both decoders, and corrupt blobs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BitmapDecoder, ENC_RAW, ENC_RUNS, decodeBitmapInto, encodeBitmap } from '../../../src/engine/stats/codec.js';

function bitmapOf(tracks: number, set: (t: number) => boolean): Buffer {
  const b = Buffer.alloc(Math.ceil(tracks / 8));
  for (let t = 0; t < tracks; t++) if (set(t)) b[t >> 3]! |= 1 << (t & 7);
  return b;
}

test('encode picks runs for sparse or sequential tables and raw for dense ones; both decoders give the bits back', () => {
  let x = 7;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
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

test('the store keeps a sparse random table as GAPS (smaller than RUNS) and every decoder gives the bits back', async () => {
  const { ENC_GAPS, runsToGaps, storageForm } = await import('../../../src/engine/stats/codec.js');
  const { BitArena } = await import('../../../src/engine/stats/bitops.js');
  let x = 11;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const cases: Array<[string, number, (t: number) => boolean, number]> = [
    ['1% random', 300_000, () => rnd() < 0.01, ENC_GAPS],
    ['0.5% random, gaps over 255 tracks', 300_000, () => rnd() < 0.005, ENC_GAPS],
    ['0.1% random (RUNS is smaller)', 300_000, () => rnd() < 0.001, ENC_RUNS],
    ['runs and singles', 100_000, (t) => (t >= 500 && t < 530) || t % 97 === 0, ENC_GAPS],
    ['one sequential run', 100_000, (t) => t >= 5 && t < 60_000, ENC_RUNS],
    ['one track far out', 100_000, (t) => t === 99_999, ENC_RUNS],
    ['dense', 50_000, () => rnd() < 0.5, ENC_RAW],
  ];
  for (const [name, tracks, f, want] of cases) {
    const bm = bitmapOf(tracks, f);
    const wire = encodeBitmap(bm);
    const st = storageForm(wire.enc, wire.data);
    assert.equal(st.enc, want, name);
    if (st.enc === ENC_GAPS) assert.ok(st.data.length < wire.data.length, `${name}: GAPS is smaller`);
    const out = new Uint8Array(bm.length);
    decodeBitmapInto(st.enc, st.data, tracks, out);
    assert.ok(Buffer.from(out).equals(bm), `${name}: decodeBitmapInto`);
    for (const simd of [true, false]) {
      // ORed into a bitmap that already has bits: the result is the OR
      const a = new BitArena({ simd });
      const p = a.alloc(bm.length);
      a.u8[p] = 0b1000_0001;
      a.orEncoded(p, bm.length, st.enc, st.data, tracks);
      const want2 = Buffer.from(bm);
      want2[0]! |= 0b1000_0001;
      assert.ok(Buffer.from(a.u8.subarray(p, p + bm.length)).equals(want2), `${name}: orEncoded ${simd ? 'wasm' : 'js'}`);
    }
  }
  assert.equal(runsToGaps(Buffer.from([0x81])), null, 'truncated RUNS stays as it is');
  // a GAPS blob that sets a track past the volume is an integrity error, for every decoder
  const bad = Buffer.from([255, 255, 10]);
  assert.throws(() => decodeBitmapInto(ENC_GAPS, bad, 300, new Uint8Array(64)), { code: 'ERR_RCOPY_INTEGRITY' });
  for (const simd of [true, false]) {
    const a = new BitArena({ simd });
    assert.throws(() => a.orEncoded(a.alloc(64), 64, ENC_GAPS, bad, 300), { code: 'ERR_RCOPY_INTEGRITY' }, simd ? 'wasm' : 'js');
    assert.throws(() => a.orEncoded(a.alloc(64), 64, ENC_RUNS, Buffer.from([200, 1]), 100), { code: 'ERR_RCOPY_INTEGRITY' });
  }
});
