/**
 * Controller methods for journals, links, pairs and pulls, and the replication service that owns
 * the Replicator of this array (write hook, pull loops, copy tasks, watch timer).
 */
import { E } from '../../errors.js';
import type { CopyManager } from '../../engine/repl/copy.js';
import type { PullManager } from '../../engine/repl/pull-loop.js';
import { Replicator, type PeerCaller } from '../../engine/repl/replicator.js';
import { checkName } from '../../units.js';
import { remoteTeller } from '../transport/resolve.js';
import type { HandlerContext, Handlers, Service } from '../handlers.js';
import { guardPair, guarded } from './group-guards.js';
import type { JournalInfo, PairDetail, PairOpResult, PairView, Results } from '../methods.js';
import { bool, int, num, oneOf, optInt, optNum, optStr, str } from '../validate.js';

/** A journal's view with whether its group sends references now, and the setting that decides it. */
function referencesView(s: ReplService, name: string): JournalInfo {
  return { ...journalView(s.r.journals.journalInfo(name)), references: s.pulls.references.enabled(name), referencesMode: s.pulls.references.mode(name) };
}

export class ReplService implements Service {
  readonly name = 'replication';
  readonly r: Replicator;
  readonly pulls: PullManager;
  readonly copies: CopyManager;
  private timer: NodeJS.Timeout | null = null;
  private kicking = new Set<string>();
  private watching = false;

  constructor(private readonly ctx: HandlerContext) {
    this.r = new Replicator(
      ctx.array,
      (name) => ctx.peers.get(name) as Promise<PeerCaller>,
      (m) => ctx.log(m),
      { peerIsRemote: remoteTeller(ctx.home) },
    );
    this.pulls = this.r.pulls;
    this.copies = this.r.copies;
    this.r.writes.onKick = (journal) => this.kick(journal);
    this.r.suspension.onPrimarySuspended = (pair, state, reason) => this.tellSecondary(pair.localJournal, pair.remoteArray, pair.remoteJournal, state, reason);
  }

  /** P side: tells the secondary of a suspension decided here, so it mirrors it within a second
   *  instead of at the end of the pull in flight (best effort: it also learns it from the pull). */
  private tellSecondary(journal: string, peerArray: string, peerJournal: string, state: string, reason: string): void {
    if (this.ctx.stopping || !this.r.links.linkOf(peerArray).up) return;
    void this.r.links
      .peer(peerArray)
      .then((peer) => peer.call('repl.primarySuspended', { journal: peerJournal, state, reason, from: this.r.name }, { timeoutMs: 10_000 }))
      .catch((e) => this.ctx.log(`could not tell ${peerArray} that ${journal} suspended (${state}): ${(e as Error).message}`));
  }

  private kick(journal: string): void {
    if (this.kicking.has(journal)) return;
    const p = this.r.records.groupPairs(journal).find((x) => x.role === 'P');
    if (!p) return;
    this.kicking.add(journal);
    void this.r.links
      .peer(p.remoteArray)
      .then((peer) => peer.call('repl.kick', { journal: p.remoteJournal }))
      .catch(() => undefined)
      .finally(() => this.kicking.delete(journal));
  }

  async start(): Promise<void> {
    await this.r.start();
    this.r.takeovers.recoverAfterRestart();
    this.pulls.startAll();
    this.copies.startPending();
    this.timer = setInterval(() => void this.tick(), 500);
  }

  private async tick(): Promise<void> {
    if (this.watching || this.ctx.stopping) return;
    this.watching = true;
    try {
      await this.r.suspension.watch();
      // auto-resync: a group set to it comes back by itself once the link is up again
      for (const j of this.r.records.rs.journals()) {
        if (j.role !== 'restore' || !j.autoResync || !j.peerArray) continue;
        const ps = this.r.records.groupPairs(j.name).filter((p) => p.role === 'S');
        if (ps.length && ps.every((p) => p.state === 'PSUE') && this.r.links.linkOf(j.peerArray).up) {
          this.ctx.log(`auto-resync of journal group ${ps[0]!.groupName}`);
          await this.r.splits.resync(ps[0]!.id, false).catch((e) => this.ctx.log(`auto-resync failed: ${(e as Error).message}`));
        }
      }
      // a copy that should run (after a restart, or a peer that came back) is started
      this.copies.startPending();
    } catch (e) {
      this.ctx.log(`watch: ${(e as Error).message}`);
    } finally {
      this.watching = false;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.copies.abortAll();
    await this.pulls.stopAll();
    await this.r.stop();
  }
}

const svc = (ctx: HandlerContext): ReplService => ctx.service<ReplService>('replication');

/**
 * The engine returns pairs, journals and pair operations as untyped records
 * (Record<string, unknown>); their fields are those the contract states (methods.ts).
 */
type Untyped = Record<string, unknown>;
const pairView = (r: Untyped): PairView => r as unknown as PairView;
/** An S-side view with its journal's recent pull rate (for the catch-up estimate). */
const withRate = (s: ReplService, v: PairView): PairView => (v.role === 'S' ? { ...v, pullBytesPerSecond: s.pulls.stat(v.journal.slice(v.journal.indexOf(':') + 1)).bytesPerSecond } : v);
const journalView = (r: Untyped): JournalInfo => r as unknown as JournalInfo;
const opResult = (r: Untyped): PairOpResult => r as unknown as PairOpResult;
const deleted = (r: Untyped): Results['pair.delete'] => r as unknown as Results['pair.delete'];

export const services = [(ctx: HandlerContext) => new ReplService(ctx)];

export const handlers: Handlers = {
  // ---------------------------------------------------------------- journals
  'journal.create': async (ctx, p) => {
    const s = svc(ctx);
    const row = await s.r.journals.createJournal(checkName('journal', str(p, 'name')), int(p, 'size', 1), {
      blockadeWatchMs: optNum(p, 'blockadeWatchMs', 100),
      overflowWatchMs: optNum(p, 'overflowWatchMs', 100),
      autoResync: bool(p, 'autoResync'),
    });
    return journalView(s.r.journals.journalInfo(row.name));
  },
  'journal.set': async (ctx, p) => {
    const s = svc(ctx);
    const patch: Record<string, unknown> = {};
    const b = optNum(p, 'blockadeWatchMs', 100);
    const o = optNum(p, 'overflowWatchMs', 100);
    if (b !== undefined) patch.blockadeWatchMs = b;
    if (o !== undefined) patch.overflowWatchMs = o;
    if (p.autoResync !== undefined) patch.autoResync = bool(p, 'autoResync');
    s.r.journals.setJournalOptions(str(p, 'name'), patch);
    if (p.references !== undefined && p.references !== null) s.pulls.references.set(str(p, 'name'), p.references === 'auto' ? 'auto' : bool(p, 'references'));
    return referencesView(s, str(p, 'name'));
  },
  'journal.list': async (ctx) => {
    const s = svc(ctx);
    return s.r.records.rs.journals().map((j) => journalView(s.r.journals.journalInfo(j.name)));
  },
  'journal.show': async (ctx, p) => referencesView(svc(ctx), str(p, 'name')),
  'journal.delete': async (ctx, p) => {
    await svc(ctx).r.journals.deleteJournal(str(p, 'name'));
    svc(ctx).pulls.forget(str(p, 'name'));
    return { deleted: str(p, 'name') };
  },

  'array.check': async (ctx) => {
    const findings = svc(ctx).r.integrity.check();
    return { array: ctx.array.name, ok: findings.length === 0, findings };
  },

  // ---------------------------------------------------------------- links
  'link.set': async (ctx, p) => {
    const s = svc(ctx);
    const peer = checkName('array', str(p, 'peer'));
    const cur = s.r.links.linkOf(peer);
    const l = {
      peer,
      bandwidth: p.bandwidth === undefined ? cur.bandwidth : p.bandwidth === null ? null : num(p, 'bandwidth', 1),
      latencyMs: p.latencyMs === undefined ? cur.latencyMs : num(p, 'latencyMs', 0, 60_000),
      up: p.up === undefined ? cur.up : bool(p, 'up'),
      changed: cur.changed,
    };
    s.r.links.setLink(l);
    if (l.up && !cur.up) ctx.peers.drop(peer);
    return s.r.links.linkOf(peer);
  },
  'link.list': async (ctx) => svc(ctx).r.records.rs.links(),

  // ---------------------------------------------------------------- pairs (CLI-facing)
  'pair.create': async (ctx, p) => {
    if (p.references !== undefined) svc(ctx).pulls.references.set(str(p, 'sjournal'), bool(p, 'references'));
    return pairView(
      await svc(ctx).r.lifecycle.create({
        pvol: str(p, 'pvol'),
        svol: str(p, 'svol'),
        pjournal: str(p, 'pjournal'),
        sjournal: str(p, 'sjournal'),
        mode: oneOf(p, 'mode', ['async', 'sync'] as const, 'async'),
        group: optStr(p, 'group'),
        nocopy: bool(p, 'nocopy'),
        syncTimeoutMs: optInt(p, 'syncTimeoutMs', 100, 3_600_000),
        fence: p.fence === undefined ? undefined : oneOf(p, 'fence', ['never', 'data'] as const),
      }),
    );
  },
  'pair.list': async (ctx) => {
    const s = svc(ctx);
    return s.r.records.pairs().map((x) => withRate(s, pairView(s.r.view.describe(x))));
  },
  'pair.find': async (ctx, p) => {
    const s = svc(ctx);
    const vol = str(p, 'volume');
    ctx.array.volume(vol);
    return s.r.records
      .pairs()
      .filter((x) => x.localVol === vol)
      .map((x) => pairView(s.r.view.describe(x)));
  },
  'pair.group': async (ctx, p) => {
    const s = svc(ctx);
    const g = str(p, 'group');
    return s.r.records
      .pairs()
      .filter((x) => x.groupName === g)
      .map((x) => pairView(s.r.view.describe(x)));
  },
  'pair.show': async (ctx, p) => {
    const s = svc(ctx);
    const pr = s.r.records.pair(str(p, 'id'));
    const pull = pr.role === 'S' ? s.pulls.stat(pr.localJournal) : undefined;
    const detail: PairDetail = { ...withRate(s, pairView(s.r.view.describe(pr))), pull, resync: pr.role === 'S' ? s.copies.statsOf(pr.id) : undefined, events: s.r.records.rs.events(pr.id, 10) };
    return detail;
  },
  // a wait that needs no polling from afar: returns once this side's row of the pair is no longer
  // in state `from` (or is gone), or after timeoutMs (at most 10 s); the CLI then looks at both sides
  'pair.await': async (ctx, p) => {
    const records = svc(ctx).r.records;
    const id = str(p, 'id');
    const from = str(p, 'from');
    const until = Date.now() + int(p, 'timeoutMs', 0, 10_000);
    // woken by every change of the pair records (GroupRecords.invalidate), and every 250 ms besides
    let wake: () => void = () => undefined;
    const unwatch = records.watch(() => wake());
    try {
      for (;;) {
        const state = records.rs.pair(id)?.state ?? null;
        const left = until - Date.now();
        if (state !== from || left <= 0) return { state };
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(250, left));
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    } finally {
      unwatch();
    }
  },
  'pair.delete': async (ctx, p) => deleted(await svc(ctx).r.lifecycle.delete(await guarded(ctx, p, 'pair delete'), bool(p, 'force'), bool(p, 'yes'))),
  'pair.split': async (ctx, p) => opResult(await svc(ctx).r.splits.split(await guarded(ctx, p, 'pair split'), bool(p, 'rw'))),
  'pair.resync': async (ctx, p) => {
    const s = svc(ctx);
    await guarded(ctx, p, 'pair resync');
    const journal = s.r.records.pair(str(p, 'id')).localJournal;
    if (p.references !== undefined) s.copies.setReferences(journal, bool(p, 'references'));
    try {
      return opResult(await s.r.splits.resync(str(p, 'id'), bool(p, 'swap')));
    } catch (e) {
      if (!s.copies.groupCopying(journal)) s.copies.setReferences(journal, undefined);
      throw e;
    }
  },
  'pair.takeover': async (ctx, p) => opResult(await svc(ctx).r.takeovers.takeover(await guarded(ctx, p, 'pair takeover'))),
  'pair.revert': async (ctx, p) => opResult(await svc(ctx).r.takeovers.revert(str(p, 'id'))),
  'pair.cancel': async (ctx, p) => opResult(await svc(ctx).r.takeovers.cancelCopy(str(p, 'id'))),

  // ---------------------------------------------------------------- pulls
  'pull.start': async (ctx, p) => {
    const s = svc(ctx);
    const j = str(p, 'journal');
    s.pulls.start(j, optInt(p, 'intervalMs', 1) ?? null, p.references === undefined ? undefined : bool(p, 'references'));
    return s.pulls.stat(j);
  },
  'pull.stop': async (ctx, p) => {
    const s = svc(ctx);
    const j = str(p, 'journal');
    s.r.records.journalRow(j);
    const sync = s.r.records.groupPairs(j).find((x) => x.role === 'S' && x.mode === 'sync' && (x.state === 'PAIR' || x.state === 'PFUL' || x.state === 'COPY'));
    if (sync) {
      throw E.state(
        `journal ${ctx.array.name}:${j} restores sync pair ${sync.id} (${sync.state}): without pulls every host write to its P-VOL would wait ${sync.syncTimeoutMs} ms and then suspend the pair (fence ${sync.fence})`,
        `split the pair first: rcopy pair split ${sync.id}`,
      );
    }
    await s.pulls.stop(j);
    return s.pulls.stat(j);
  },
  'pull.status': async (ctx, p) => {
    const s = svc(ctx);
    const j = str(p, 'journal');
    s.r.records.journalRow(j);
    return s.pulls.stat(j);
  },
  'pull.once': async (ctx, p) => {
    const s = svc(ctx);
    const j = str(p, 'journal');
    if (s.r.records.journalRow(j).role !== 'restore') throw E.state(`journal ${ctx.array.name}:${j} is not a restore journal`, 'pull runs on the secondary');
    const r = await s.pulls.once(j);
    return { ...r, status: s.pulls.stat(j) };
  },

  // ---------------------------------------------------------------- peer methods (primary side)
  'repl.pull': async (ctx, p) => {
    const r = await svc(ctx).r.serve.servePull(str(p, 'journal'), int(p, 'after'), int(p, 'restored'), int(p, 'maxBytes', 1, 256 * 1024 * 1024), checkName('array', str(p, 'from')), bool(p, 'refs'));
    return { result: { entries: r.entries, info: r.info }, payload: r.payload, written: r.written };
  },
  'repl.readEntryData': async (ctx, p) => {
    const data = await svc(ctx).r.serve.readEntryData(str(p, 'journal'), int(p, 'seq', 1), int(p, 'offset'), int(p, 'length', 1, 64 * 1024 * 1024));
    return { result: null, payload: data };
  },
  'repl.info': async (ctx, p) => svc(ctx).r.serve.primaryInfo(str(p, 'journal')),
  'repl.ack': async (ctx, p) => {
    svc(ctx).r.serve.ack(str(p, 'journal'), int(p, 'restored'));
    return null;
  },
  'repl.kick': async (ctx, p) => {
    svc(ctx).pulls.kick(str(p, 'journal'));
    return null;
  },
  'repl.allocMap': async (ctx, p) => ({ result: null, payload: ctx.array.volume(str(p, 'volume')).alloc.toBuffer() }),
  'repl.diffMap': async (ctx, p) => {
    const s = svc(ctx);
    const b = await s.r.files.bitmap(s.r.records.pair(str(p, 'pair')));
    return { result: { count: b.count() }, payload: b.toBuffer() };
  },
  'repl.primaryCreate': async (ctx, p) =>
    svc(ctx).r.lifecycle.primaryCreate({
      pvol: str(p, 'pvol'),
      svolArray: checkName('array', str(p, 'svolArray')),
      svol: str(p, 'svol'),
      size: int(p, 'size', 1),
      pjournal: str(p, 'pjournal'),
      sjournal: str(p, 'sjournal'),
      mode: oneOf(p, 'mode', ['async', 'sync'] as const),
      group: str(p, 'group'),
      nocopy: bool(p, 'nocopy'),
      syncTimeoutMs: optInt(p, 'syncTimeoutMs', 100, 3_600_000) ?? 5000,
      fence: oneOf(p, 'fence', ['never', 'data'] as const, 'never'),
      base: optInt(p, 'base', 0) ?? 0,
    }),
  'repl.primaryDelete': async (ctx, p) => {
    // asked by the other side's pair delete (`guard`): a running drill of this side's group is
    // named and refused, or ended with `yes`, as this side's own pair delete does
    if (bool(p, 'guard')) await guardPair(ctx, str(p, 'pair'), bool(p, 'yes'), 'pair delete');
    return svc(ctx).r.lifecycle.primaryDelete(str(p, 'pair'));
  },
  'repl.primarySplit': async (ctx, p) => svc(ctx).r.splits.primarySplit(str(p, 'journal')),
  'repl.primaryFinishSplit': async (ctx, p) => {
    await svc(ctx).r.splits.primaryFinishSplit(str(p, 'journal'), int(p, 'restored'));
    return null;
  },
  'repl.primarySuspend': async (ctx, p) => {
    await svc(ctx).r.splits.primarySuspend(str(p, 'journal'), oneOf(p, 'state', ['PSUS', 'PSUE'] as const), str(p, 'reason'));
    return null;
  },
  'repl.primaryBeginResync': async (ctx, p) => svc(ctx).r.splits.primaryBeginResync(str(p, 'journal')),
  'repl.groupCopyDone': async (ctx, p) => {
    const ids = p.pairs;
    if (!Array.isArray(ids) || !ids.length || ids.length > 4096 || !ids.every((x) => typeof x === 'string')) throw E.badInput("repl.groupCopyDone: 'pairs' must be a list of pair ids");
    return svc(ctx).r.splits.primaryGroupCopyDone(str(p, 'journal'), ids as string[]);
  },
  // the primary suspended a group on its own (journal full, its blockade watch, a sync timeout)
  'repl.primarySuspended': async (ctx, p) => {
    const s = svc(ctx);
    const journal = str(p, 'journal');
    const state = oneOf(p, 'state', ['PSUE', 'PFUS', 'PSUS'] as const);
    const row = s.r.records.journalRow(journal);
    if (row.role !== 'restore' || row.peerArray !== checkName('array', str(p, 'from')))
      throw E.state(`journal ${ctx.array.name}:${journal} does not restore from ${str(p, 'from')}`, 'check the pair on both arrays: rcopy pair list');
    s.r.takeovers.mirrorPrimary(journal, state, str(p, 'reason'));
    return null;
  },
  'repl.primarySwap': async (ctx, p) => svc(ctx).r.splits.primarySwap(str(p, 'journal'), int(p, 'base')),
};
