/** Renderers of journals, links and pull loops. */
import type { PullStats } from '../../engine/repl/pull-stats.js';
import type { LinkRow } from '../../engine/repl/repl-store.js';
import type { JournalInfo } from '../../server/methods.js';
import { formatBytes, formatDuration, formatRate } from '../../units.js';
import { iso, type Output } from './output.js';

export function journalRows(list: JournalInfo[]): Output['table'] {
  return {
    head: ['journal', 'role', 'capacity', 'used', 'entries', 'oldest seq', 'newest seq', 'restored', 'peer', 'pairs'],
    rows: list.map((j) => [
      `${j.array}:${j.name}`,
      j.role ?? '-',
      formatBytes(j.capacity),
      `${j.usedPct}%`,
      j.entries,
      j.oldestSeq ?? '',
      j.newestSeq ?? '',
      j.restoredSeq ?? '',
      j.peer ?? '',
      j.pairs.join(' '),
    ]),
  };
}

export function linkText(a: string, b: string, l: Pick<LinkRow, 'up' | 'bandwidth' | 'latencyMs'>): string {
  return `${a} <-> ${b}: ${l.up ? 'up' : 'DOWN'}, bandwidth ${l.bandwidth ? formatRate(l.bandwidth) : 'unlimited'}, latency ${l.latencyMs} ms`;
}

export function pullText(s: PullStats): string {
  const lines = [
    `pull of ${s.journal}: ${s.enabled ? 'started' : 'stopped'} (${s.mode}${s.intervalMs ? `, every ${formatDuration(s.intervalMs)}` : ''})${s.running ? '' : ', loop not running'}`,
    `  pulls ${s.pulls}, entries ${s.entries}, ${formatBytes(s.bytes)}${s.countingSince ? ` since ${iso(s.countingSince)}` : ''} at ${formatRate(s.bytesPerSecond)}; pulled seq ${s.pulledSeq}, restored seq ${s.restoredSeq}`,
    `  logical ${formatBytes(s.logicalBytes)}, sent as data ${formatBytes(s.dataBytes)}, as references ${formatBytes(s.referenceBytes)}` +
      (s.savedBytes ? ` (saved ${formatBytes(s.savedBytes)}, ${s.savedPct}%)` : '') +
      (s.staleReferences ? `; ${s.staleReferences} stale references fetched as data` : '') +
      (s.references === false ? '; references off' : ''),
  ];
  if (s.primary) lines.push(`  primary journal: ${s.primary.entries} entries waiting, ${s.primary.usedPct.toFixed(1)}% used, last seq ${s.primary.lastSeq}`);
  if (s.lastError) lines.push(`  last error: ${s.lastError}`);
  return lines.join('\n');
}
