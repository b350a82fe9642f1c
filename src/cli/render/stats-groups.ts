/**
 * How `rcopy stats define|list|start|stop|collect` show statistics groups: the JSON of a group, the
 * table of `stats list`, and the one-line results.
 */
import type { GroupInfo } from '../../engine/stats/store.js';
import { formatBytes } from '../../units.js';
import { iso } from './output.js';
import type { Output } from './output.js';

/** A duration in the largest whole unit (1d, 2h, 10m, 30s, 250ms). */
export function durationText(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function groupJson(array: string, g: GroupInfo, controllerUp: boolean) {
  return {
    array,
    group: g.name,
    volumes: g.members.filter((m) => !m.external).map((m) => m.volume),
    traceDevices: g.members.filter((m) => m.external).map((m) => ({ name: m.volume, tracks: m.tracks, trackSize: m.trackSize })),
    datasets: g.datasets,
    intervalMs: g.intervalMs,
    interval: durationText(g.intervalMs),
    running: g.running && controllerUp,
    /** Marked running in the store: resumes when the controller starts. */
    enabled: g.running,
    since: g.since,
    intervalStart: g.intervalStart,
    lastCollect: g.lastCollect,
    entries: g.entries,
    from: g.from,
    to: g.to,
    storedBytes: g.storedBytes,
  };
}

/** `stats list`: one row per group. */
export function groupsOutput(array: string, rows: ReturnType<typeof groupJson>[]): Output {
  return {
    data: rows,
    table: {
      head: ['group', 'volumes', 'data sets', 'interval', 'collection', 'entries', 'span', 'stored'],
      rows: rows.map((r) => [
        r.group,
        [...r.volumes, ...r.traceDevices.map((d) => `${d.name} (trace)`)].join(', '),
        r.datasets.map((d) => `${d.name}=${d.volume}:${formatBytes(d.startByte)}-${formatBytes(d.endByte)}`).join(', '),
        r.interval,
        r.running ? `running since ${iso(r.since)}` : r.enabled ? 'resumes when the controller starts' : 'stopped',
        r.entries,
        r.from !== null ? `${iso(r.from)} .. ${iso(r.to)}` : '',
        formatBytes(r.storedBytes),
      ]),
    },
    text: rows.length ? undefined : `no statistics groups on ${array} (define one with: rcopy stats define ${array}:GROUP --volumes VOL1,VOL2)`,
  };
}

const volumeNames = (g: GroupInfo): string =>
  g.members
    .filter((m) => !m.external)
    .map((m) => m.volume)
    .join(', ');

/** `stats define`: one line per group defined. */
export function definedText(array: string, infos: GroupInfo[]): string {
  return infos
    .map((g) => `defined ${array}:${g.name}: volumes ${volumeNames(g)}${g.datasets.length ? `; data sets ${g.datasets.map((d) => d.name).join(', ')}` : ''}; interval ${durationText(g.intervalMs)}`)
    .join('\n');
}

/** `stats start`. */
export function collectingText(ref: { array: string; group: string }, g: GroupInfo): string {
  return `collecting ${ref.array}:${ref.group} (${volumeNames(g)}) every ${durationText(g.intervalMs)}`;
}

/** `stats stop` and `stats collect`: what the cut stored. */
export function cutText(verb: string, ref: string, c: { start: number; end: number; entries: number; changedTracks: number; writes: number; writeBytes: number }): string {
  if (c.entries === 0) return `${verb} ${ref}: nothing to store (the interval had just started)`;
  return `${verb} ${ref}: stored ${c.entries} entr${c.entries === 1 ? 'y' : 'ies'} for ${iso(c.start)} .. ${iso(c.end)}: ${c.changedTracks} tracks changed by ${c.writes} writes (${formatBytes(c.writeBytes)})`;
}
