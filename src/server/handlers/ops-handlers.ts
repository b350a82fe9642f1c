/**
 * Controller methods for operating replication: the array's metrics (engine/ops/metrics.ts) and
 * the /metrics HTTP endpoint. The OpsService owns the metrics, the host-write hook that counts
 * bytes and latency, the controller start count (mgmt.db meta `ops:controller-starts`) and the
 * endpoint, whose address is kept in mgmt.db (`ops:serve-metrics`) and served again after a restart.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { E } from '../../errors.js';
import { readEvents } from '../../engine/ops/events.js';
import { ArrayMetrics, type MetricsSnapshot, type SnapshotPair } from '../../engine/ops/metrics.js';
import type { RpoSide } from '../../engine/ops/rpo.js';
import type { HandlerContext, Handlers, Service } from '../handlers.js';
import type { PairOpResult, PairView } from '../methods.js';
import { primaryHashes, type VerifyPairResult } from '../../engine/repl/verify.js';
import type { ExportRegistry } from '../nbd/exports.js';
import type { ReplService } from './repl-handlers.js';
import { jobs } from './jobs-handlers.js';

const STARTS_KEY = 'ops:controller-starts';
const SERVE_KEY = 'ops:serve-metrics';

/** host:port with a numeric port (0: any free port). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw E.badInput(`--listen '${text}' is not HOST:PORT`, 'use e.g. 127.0.0.1:9477');
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export class OpsService implements Service {
  readonly name = 'ops';
  /** The same metrics twice: named for the Prometheus text format, and for OpenMetrics. */
  readonly metrics: ArrayMetrics;
  readonly om: ArrayMetrics;
  private server: http.Server | null = null;
  private listening: string | null = null;
  private readonly startedAt = Date.now();
  private starts = 0;

  constructor(private readonly ctx: HandlerContext) {
    this.metrics = new ArrayMetrics(ctx.array.name);
    this.om = new ArrayMetrics(ctx.array.name, true);
  }

  async start(): Promise<void> {
    const store = this.ctx.array.store;
    this.starts = store.getJson<number>(STARTS_KEY, 0) + 1;
    store.setJson(STARTS_KEY, this.starts);
    this.repl().r.records.rs.event(null, `controller started (pid ${process.pid}, start ${this.starts})`);
    // first, so it times the other hooks (journal append) with the volume write and the commit
    this.ctx.array.writeHooks.unshift(async (vol, _off, data, origin) => {
      if (origin !== 'host') return;
      const t0 = process.hrtime.bigint();
      return async () => {
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        for (const m of [this.metrics, this.om]) m.hostWrite(vol.name, data.length, secs);
      };
    });
    this.repl().r.pulls.onRound = (journal, secs) => {
      for (const m of [this.metrics, this.om]) m.pullRound(journal, secs);
    };
    const kept = store.getJson<{ listen?: string } | null>(SERVE_KEY, null);
    if (kept?.listen) await this.serve(kept.listen).catch((e) => this.ctx.log(`metrics endpoint ${kept.listen} not served: ${(e as Error).message}`));
  }

  async stop(): Promise<void> {
    await this.close();
    try {
      this.repl().r.records.rs.event(null, `controller stopped (pid ${process.pid})`);
    } catch (e) {
      this.ctx.log(`the stop event was not recorded: ${(e as Error).message}`);
    }
  }

  private repl(): ReplService {
    return this.ctx.service<ReplService>('replication');
  }

  private async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    this.listening = null;
    if (s) await new Promise<void>((res) => s.close(() => res()));
  }

  /** Serves /metrics on `listen` (HOST:PORT), or stops serving (null); kept across restarts. */
  async serve(listen: string | null): Promise<{ listen: string | null; url: string | null }> {
    const where = listen === null ? null : parseListen(listen);
    await this.close();
    if (where) {
      const server = http.createServer((req, res) => void this.answer(req, res));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (e) => reject(E.badInput(`cannot listen on ${listen}: ${(e as Error).message}`)));
        server.listen(where.port, where.host, () => resolve());
      });
      this.server = server;
      const a = server.address() as AddressInfo;
      this.listening = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    }
    this.ctx.array.store.setJson(SERVE_KEY, listen === null ? null : { listen });
    return { listen: this.listening, url: this.listening ? `http://${this.listening}/metrics` : null };
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    try {
      // OpenMetrics for a scraper that asks for it (Prometheus does), else the Prometheus text format
      const r = await this.render(/application\/openmetrics-text/.test(String(req.headers.accept ?? '')));
      res.writeHead(200, { 'content-type': r.contentType }).end(r.text);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
    }
  }

  /** The metrics now (the snapshot set) as OpenMetrics or as Prometheus text. */
  async current(openMetrics: boolean): Promise<ArrayMetrics> {
    const m = openMetrics ? this.om : this.metrics;
    m.update(await this.snapshot());
    return m;
  }

  async render(openMetrics: boolean): Promise<{ text: string; contentType: string }> {
    return (await this.current(openMetrics)).render();
  }

  /** What the array holds now, with each S-VOL's primary as its controller describes it. */
  async snapshot(): Promise<MetricsSnapshot> {
    const repl = this.ctx.service<ReplService>('replication');
    const views = repl.r.records.pairs().map((x) => repl.r.view.describe(x) as unknown as PairView);
    const peers = new Map<string, Promise<PairView[] | null>>();
    const peerViews = (array: string): Promise<PairView[] | null> => {
      if (!peers.has(array))
        peers.set(
          array,
          this.ctx.peers
            .get(array)
            .then(async (c) => (await c.call('pair.list', {}, { timeoutMs: 3000 })).result as PairView[])
            .catch(() => null),
        );
      return peers.get(array)!;
    };
    const pairs: SnapshotPair[] = [];
    for (const v of views) {
      const local = v.journal.slice(v.journal.indexOf(':') + 1);
      const self: RpoSide = v.role === 'S' ? { ...v, pullBytesPerSecond: repl.pulls.stat(local).bytesPerSecond } : v;
      const primary = v.role === 'S' ? ((await peerViews(v.pvol.slice(0, v.pvol.indexOf(':'))))?.find((x) => x.id === v.id && x.role === 'P') ?? null) : null;
      const cs = v.role === 'S' ? repl.copies.statsOf(v.id) : null;
      const copy = cs ? { kind: cs.kind, logicalBytes: cs.logicalBytes, dataBytes: cs.dataBytes, seconds: ((cs.finishedAt ?? Date.now()) - cs.startedAt) / 1000 } : null;
      pairs.push({ id: v.id, role: v.role, svol: v.svol, state: v.state, self, primary, copy });
    }
    const journals = repl.r.records.rs.journals().map((j) => {
      const i = repl.r.journals.journalInfo(j.name) as { capacity: number; used: number };
      return { name: j.name, role: j.role, capacity: i.capacity, used: i.used };
    });
    const pulls = journals.filter((j) => j.role === 'restore').map((j) => ({ ...repl.pulls.stat(j.name), journal: j.name }));
    let exports: MetricsSnapshot['exports'] = null;
    try {
      exports = this.ctx
        .service<ExportRegistry>('nbd-exports')
        .list()
        .map((e) => ({ name: e.name, volume: e.volume, clients: e.clients, bytesRead: e.bytesRead, bytesWritten: e.bytesWritten }));
    } catch {
      exports = null; // no export registry in this controller
    }
    return { pairs, journals, pulls, exports, controllerStarts: this.starts, controllerStartTime: this.startedAt };
  }
}

const ops = (ctx: HandlerContext): OpsService => ctx.service<OpsService>('ops');

export const handlers: Handlers = {
  'metrics.get': async (ctx, p) => {
    const m = await ops(ctx).current(p.openMetrics === true);
    return { array: ctx.array.name, json: await m.registry.getMetricsAsJSON() };
  },
  'metrics.serve': async (ctx, p) => ({ array: ctx.array.name, ...(await ops(ctx).serve(p.listen ?? null)) }),
  'events.list': async (ctx, p) => ({ array: ctx.array.name, events: readEvents(ctx.array.store, { afterId: p.afterId ?? 0, since: p.since ?? 0 }) }),
  'repl.verifyHashes': async (ctx, p) => {
    const r = ctx.service<ReplService>('replication').r;
    return primaryHashes(r, p.journal, p.volume, p.first, p.last, p.after);
  },
  'pair.verify': async (ctx, p, _payload, emit, req) => {
    const r = ctx.service<ReplService>('replication').r;
    const t0 = Date.now();
    let last = 0;
    // a job: jobs stop, or its command going away (Ctrl-C), ends the verify at its next chunk
    const job = jobs(ctx).begin('verify', `verify of the group of ${p.id}`, req.signal);
    emit({ job: job.view.id });
    let pairs: VerifyPairResult[];
    try {
      pairs = await r.verifier.verify(
        p.id,
        (done, total) => {
          if (Date.now() - last < 200 && done < total) return;
          last = Date.now();
          emit({ done, total });
        },
        () => job.reason,
      );
    } finally {
      job.end();
    }
    const cancelled = job.reason;
    const bytes = pairs.reduce((n, x) => n + x.compared * ctx.array.trackSize, 0);
    for (const x of pairs)
      r.records.rs.event(
        x.id,
        `verify${cancelled === null ? '' : ' (cancelled)'}: ${x.compared} of ${x.tracks} tracks compared, ${x.differing.length} differ${
          x.differing.length
            ? ` (${x.differing
                .slice(0, 10)
                .map((d) => d.track)
                .join(', ')})`
            : ''
        }, ${x.unverified} not verified`,
      );
    const bad = pairs.filter((x) => x.differing.length);
    let repair: PairOpResult | null = null;
    if (p.repair && bad.length && cancelled === null) repair = await repairTracks(ctx, p.id, bad);
    return { pairs, seconds: (Date.now() - t0) / 1000, bytes, repair, cancelled };
  },
};

/**
 * `pair verify --repair`: the group is split (the journal drained first), the differing tracks are
 * set in the secondary's differential bitmap (durably), and a resync copies the union of the
 * bitmaps: the differing tracks and whatever the hosts wrote meanwhile.
 */
async function repairTracks(ctx: HandlerContext, id: string, bad: VerifyPairResult[]): Promise<PairOpResult> {
  const r = ctx.service<ReplService>('replication').r;
  await r.splits.split(id, false);
  for (const x of bad) await (await r.files.bitmap(r.records.pair(x.id))).setAndPersist(x.differing.map((d) => d.track));
  ctx.log(`verify: ${bad.reduce((n, x) => n + x.differing.length, 0)} differing tracks of ${bad.map((x) => x.svol).join(', ')} set in the bitmap; resyncing`);
  return (await r.splits.resync(id, false)) as unknown as PairOpResult;
}

export const services = [(ctx: HandlerContext) => new OpsService(ctx)];
