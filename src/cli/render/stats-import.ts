/** How `rcopy stats import` shows what it imported. */
import type { DeviceInfo } from '../../engine/stats/traces/import.js';
import { formatBytes } from '../../units.js';
import type { CliContext } from '../context.js';
import { colors } from './progress.js';
import { durationText } from './stats-groups.js';

/** ` (why)`, or nothing. */
export const reasonText = (reason: string | undefined): string => (reason ? ` (${reason})` : '');

/** The figures of an import, as `stats import --json` gives them. */
export interface ImportSummary {
  array: string;
  group: string;
  trace: string;
  gzip: boolean;
  lines: number;
  writes: number;
  reads: number;
  other: number;
  malformed: number;
  firstMalformed: { line: number; text: string; reason?: string } | null;
  outOfOrder: number;
  devices: DeviceInfo[];
  entries: number;
  storedBytes: number;
  intervalMs: number;
  trackSize: number;
  linesPerSecond: number;
}

export async function importText(ctx: CliContext, d: ImportSummary): Promise<string> {
  const c = await colors(ctx);
  const lines = [
    `imported ${d.trace}${d.gzip ? ' (gzip)' : ''} into ${d.array}:${d.group}: ${d.lines.toLocaleString('en')} lines, ${d.writes.toLocaleString('en')} writes, ${d.reads.toLocaleString('en')} reads, ${d.other.toLocaleString('en')} other, ${d.malformed.toLocaleString('en')} malformed`,
    `  devices: ${d.devices.map((x) => `${x.name} (${x.tracks} tracks)`).join(', ')}`,
    `  ${d.entries} entries of ${durationText(d.intervalMs)}, ${formatBytes(d.trackSize)} tracks, ${formatBytes(d.storedBytes)} stored; ${Math.round(d.linesPerSecond).toLocaleString('en')} lines/s`,
  ];
  if (d.malformed > 0) lines.push(c.warn(`  first malformed line ${d.firstMalformed?.line}${reasonText(d.firstMalformed?.reason)}: '${d.firstMalformed?.text}' (use --strict to refuse the trace)`));
  if (d.outOfOrder > 0) lines.push(`  ${d.outOfOrder} records earlier than their interval were counted in it`);
  return lines.join('\n');
}
