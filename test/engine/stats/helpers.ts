/** Test helpers for the PB-bit statistics tests: temp dirs, the sample traces, hand-made entries. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StatsEntry } from '../../../src/engine/stats/pb-table.js';

export function testdir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rcopy-stats-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The real block traces kept with the tests (test/fixtures/traces, see its README). */
export function sharedTraces(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures', 'traces');
}

/** An entry with the given tracks set. */
export function entry(volume: string, start: number, end: number, tracks: number[], opts: { size?: number; trackSize?: number; writes?: number; writeBytes?: number } = {}): StatsEntry {
  const size = opts.size ?? 1024;
  const bitmap = Buffer.alloc(Math.ceil(size / 8));
  let count = 0;
  for (const t of tracks) {
    if (!(bitmap[t >> 3]! & (1 << (t & 7)))) count++;
    bitmap[t >> 3]! |= 1 << (t & 7);
  }
  return { start, end, volume, trackSize: opts.trackSize ?? 65536, tracks: size, bitmap, count, writes: opts.writes ?? tracks.length, writeBytes: opts.writeBytes ?? tracks.length * 4096 };
}
