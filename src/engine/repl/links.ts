/**
 * This array's links to its peers: up or down, bandwidth and latency (shaped here), and the peer's
 * controller reached through the link.
 */
import { E } from '../../errors.js';
import { LinkShaper } from './link-shaper.js';
import type { LinkRow } from './repl-store.js';
import type { Site } from './site.js';
import type { GroupRecords } from './group-records.js';
import type { PeerCaller, PeerGetter } from './peer.js';

export class Links {
  private shapers = new Map<string, LinkShaper>();

  constructor(
    private readonly site: Site,
    private readonly records: GroupRecords,
    private readonly peers: PeerGetter,
  ) {}

  linkOf(peer: string): LinkRow {
    return this.records.rs.link(peer) ?? { peer, bandwidth: null, latencyMs: 0, up: true, changed: 0 };
  }

  shaper(peer: string): LinkShaper {
    const l = this.linkOf(peer);
    let s = this.shapers.get(peer);
    if (!s) {
      s = new LinkShaper(l.bandwidth, l.latencyMs);
      this.shapers.set(peer, s);
    }
    s.bandwidth = l.bandwidth;
    s.latencyMs = l.latencyMs;
    return s;
  }

  setLink(l: LinkRow): void {
    const before = this.records.rs.link(l.peer);
    this.records.rs.setLink({ ...l, changed: before && before.up === l.up ? before.changed : Date.now() });
    if (!l.up && (before?.up ?? true)) this.shapers.get(l.peer)?.cut(E.linkDown(this.site.name, l.peer));
    this.shaper(l.peer);
  }

  checkLink(peer: string): void {
    if (!this.linkOf(peer).up) throw E.linkDown(this.site.name, peer);
  }

  /** A peer's controller, through the link (down → ERR_RCOPY_LINK_DOWN). */
  async peer(name: string): Promise<PeerCaller> {
    this.checkLink(name);
    return this.peers(name);
  }
}
