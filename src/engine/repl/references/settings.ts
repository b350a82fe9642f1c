/**
 * Whether a journal group sends references instead of data (DESIGN.md §2.4), kept per restore
 * journal in the secondary's management store: the secondary drives pulls and resyncs and tells
 * the primary in each request.
 *
 * Three settings: `on`, `off`, and `auto` (the default: no row). Finding references costs CPU on
 * both sides (a crc32 of every 4 KiB block and the content index on the primary's pull; SHA-256 of
 * every changed track on both sides of a resync), about a second per GiB here (bench/HISTORY.md,
 * session 11), and saves only link bytes. `auto` uses them where the link is what limits: a peer
 * reached over TCP, or a link with a bandwidth set (`link set --bandwidth`); between two arrays of
 * one host on an unshaped link the data goes as it is, as rsync copies whole files between local
 * paths. `pair create --no-references`, `pull start --references|--no-references` and
 * `journal set ARRAY:J --references on|off|auto` choose.
 */
import type { ManagementStore } from '../../array/mgmt-store.js';
import type { GroupRecords } from '../group-records.js';
import type { Links } from '../links.js';
import type { Site } from '../site.js';

const DDL = 'CREATE TABLE IF NOT EXISTS repl_references (journal TEXT PRIMARY KEY, enabled INTEGER NOT NULL)';

export type ReferencesMode = 'on' | 'off' | 'auto';

/** What `auto` looks at: the journal group's link to its primary. */
export interface LinkFacts {
  /** The peer is reached over TCP (another host), not the local socket. */
  remote: boolean;
  /** The link's bandwidth limit in bytes/s, or null (unshaped). */
  bandwidth: number | null;
}

/** Whether `auto` sends references over this link: where the link, not the CPU, limits. */
export function referencesPay(link: LinkFacts): boolean {
  return link.remote || link.bandwidth !== null;
}

export class ReferenceSettings {
  constructor(
    private readonly store: ManagementStore,
    /** The facts about a restore journal's link (null: no peer known: references are used). */
    private readonly linkOf: (journal: string) => LinkFacts | null = () => null,
  ) {
    store.ensureSchema('repl_references', DDL);
  }

  mode(journal: string): ReferencesMode {
    const r = this.store.db.prepare('SELECT enabled FROM repl_references WHERE journal = ?').get(journal) as { enabled: number } | undefined;
    return r ? (r.enabled !== 0 ? 'on' : 'off') : 'auto';
  }

  /** Whether pulls and resyncs of this journal group send references now. */
  enabled(journal: string): boolean {
    const m = this.mode(journal);
    if (m !== 'auto') return m === 'on';
    const link = this.linkOf(journal);
    return link === null || referencesPay(link);
  }

  set(journal: string, mode: boolean | ReferencesMode): void {
    const m = mode === true ? 'on' : mode === false ? 'off' : mode;
    if (m === 'auto') this.clear(journal);
    else this.store.db.prepare('INSERT INTO repl_references (journal, enabled) VALUES (?, ?) ON CONFLICT(journal) DO UPDATE SET enabled = excluded.enabled').run(journal, m === 'on' ? 1 : 0);
  }

  clear(journal: string): void {
    this.store.db.prepare('DELETE FROM repl_references WHERE journal = ?').run(journal);
  }
}

/** The link facts of a restore journal's group (null when it has no peer). */
export function linkFactsOf(parts: { site: Site; records: GroupRecords; links: Links }, journal: string): LinkFacts | null {
  const peer = parts.records.rs.journal(journal)?.peerArray;
  return peer ? { remote: parts.site.peerIsRemote(peer), bandwidth: parts.links.linkOf(peer).bandwidth } : null;
}
