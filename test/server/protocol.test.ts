import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, MAX_PAYLOAD, encodeFrame, payloadLength, type Frame } from '../../src/server/protocol.js';
import { rng } from '../helpers.js';

/** Frames with payloads of many sizes (none, inside one chunk, spanning many), one buffer or several. */
function frames(r: () => number): Array<{ header: Record<string, unknown>; payload: Buffer | Buffer[] | null }> {
  const out: Array<{ header: Record<string, unknown>; payload: Buffer | Buffer[] | null }> = [];
  for (let i = 0; i < 60; i++) {
    const size = [0, 1, 100, 70_000, 300_000, 2_000_000][Math.floor(r() * 6)]!;
    const data = Buffer.alloc(size);
    for (let k = 0; k < size; k += 997) data[k] = (i * 31 + k) & 255;
    const split = size > 10 && r() < 0.5;
    out.push({ header: { id: i, m: 'x', p: { n: 'é'.repeat(i % 5) } }, payload: size === 0 ? null : split ? [data.subarray(0, size >> 1), Buffer.alloc(0), data.subarray(size >> 1)] : data });
  }
  return out;
}

/** The decoded frames are the encoded ones, in order, vectored payloads joined. */
function sameFrames(got: Frame[], fs: ReturnType<typeof frames>, how: string): void {
  assert.equal(got.length, fs.length, how);
  got.forEach((g, i) => {
    const want = fs[i]!;
    assert.deepEqual(g.header, want.header);
    const wantBuf = want.payload === null ? null : Buffer.isBuffer(want.payload) ? want.payload : Buffer.concat(want.payload);
    if (wantBuf === null) assert.equal(g.payload, null);
    else assert.ok(g.payload?.equals(wantBuf), `frame ${i}, ${how}`);
  });
}

test('frames cut at any chunk boundary come out whole and in order, vectored payloads joined', () => {
  const r = rng(11);
  for (const maxChunk of [1, 7, 65_536, 1_000_000]) {
    const fs = frames(r);
    const wire = Buffer.concat(fs.flatMap((f) => encodeFrame(f.header, f.payload)));
    const dec = new FrameDecoder();
    const got = [];
    for (let at = 0; at < wire.length;) {
      // keep the 1-byte case fast: only the first 20 KiB go byte by byte
      const n = maxChunk === 1 && at > 20_000 ? 65_536 : 1 + Math.floor(r() * maxChunk);
      got.push(...dec.push(wire.subarray(at, at + n)));
      at += n;
    }
    sameFrames(got, fs, `chunks up to ${maxChunk}`);
  }
});

test('reads straight into the decoder (onread) come out as the same frames, payloads never sharing the scratch buffer', () => {
  const r = rng(12);
  for (const maxRead of [1, 5000, 200_000]) {
    const fs = frames(r);
    const wire = Buffer.concat(fs.flatMap((f) => encodeFrame(f.header, f.payload)));
    const dec = new FrameDecoder();
    const got = [];
    for (let at = 0; at < wire.length;) {
      // what the kernel does: fills at most the buffer it was given
      const buf = dec.readBuffer();
      const want = maxRead === 1 && at > 20_000 ? 65_536 : 1 + Math.floor(r() * maxRead);
      const n = Math.min(buf.length, want, wire.length - at);
      wire.copy(buf, 0, at, at + n);
      got.push(...dec.pushRead(n));
      at += n;
    }
    sameFrames(got, fs, `reads up to ${maxRead}`);
  }
});

test('a frame that announces more than the limit is refused before anything is allocated', () => {
  const pre = Buffer.alloc(8);
  pre.writeUInt32BE(2, 0);
  pre.writeUInt32BE(MAX_PAYLOAD + 1, 4);
  assert.throws(() => new FrameDecoder().push(Buffer.concat([pre, Buffer.from('{}')])), /frame too large/);
  const arr = Buffer.alloc(8);
  arr.writeUInt32BE(3, 0);
  assert.throws(() => new FrameDecoder().push(Buffer.concat([arr, Buffer.from('[1]')])), /not an object/);
  assert.throws(() => new FrameDecoder().push(Buffer.concat([arr, Buffer.from('{1]')])), /not JSON/);
  assert.equal(payloadLength([Buffer.alloc(3), Buffer.alloc(4)]), 7);
});
