/** Renderers of backups: one line per backup, and the table of backup list. */
import type { BackupRecord } from '../../engine/backup/manager.js';
import { formatBytes, formatDuration } from '../../units.js';
import { iso, type Output } from './output.js';

export function describeBackup(b: BackupRecord): string {
  const gen = b.generation !== null ? `generation ${b.generation}` : b.state;
  return `${b.id}: ${b.array}:${b.source} -> ${b.array}:${b.target}, ${gen} (${b.kind}), ${formatBytes(b.bytesCopied)} copied (${b.tracksCopied} tracks${b.cowTracks ? `, ${b.cowTracks} copied before host writes` : ''}) in ${formatDuration((b.seconds ?? 0) * 1000)}, checksum ${b.checksum?.slice(0, 16) ?? '-'}…`;
}

export function listRows(list: BackupRecord[]): Output['table'] {
  return {
    head: ['id', 'source', 'gen', 'time', 'label', 'kind', 'size', 'copied', 'backup volume', 'state'],
    rows: list.map((b) => [b.id, b.source, b.generation ?? '-', iso(b.pointInTime), b.label ?? '', b.kind, formatBytes(b.size), formatBytes(b.bytesCopied), b.target, b.state]),
  };
}
