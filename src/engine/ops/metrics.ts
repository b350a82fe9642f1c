/**
 * An array's metrics (prom-client): what its controller serves on /metrics (OpenMetrics when the
 * scraper asks for it, else Prometheus text) and what `rcopy metrics --textfile` writes. Every series carries the label `array`.
 *
 * Two kinds of values:
 * - live ones, counted as they happen in the controller: host write bytes and the host write
 *   latency histogram (the write path's hooks, the volume write and the commit; not the wait for
 *   the write lock nor a sync pair's wait for the secondary), and the pull round duration histogram;
 * - a snapshot of the array's state, set from a MetricsSnapshot right before each rendering (pair
 *   states, RPO and what is behind, journals, pulls, copies, exports, controller starts). Counters
 *   that the controller keeps across restarts (pull bytes) are set to the kept totals.
 * The pair-level RPO series come from the secondary's side only (the side that drives the pair).
 */
import { Counter, Gauge, Histogram, Registry, type OpenMetricsContentType, type PrometheusContentType } from 'prom-client';
import { rpoOf, type RpoSide } from './rpo.js';

export const PAIR_STATES = ['COPY', 'PAIR', 'PFUL', 'PSUS', 'SSUS', 'PSUE', 'PFUS', 'SSWS'] as const;

export interface SnapshotPair {
  id: string;
  role: 'P' | 'S';
  svol: string;
  state: string;
  /** This side's view and, for the S side, the primary's (null when it did not answer). */
  self: RpoSide;
  primary: RpoSide | null;
  /** The last initial copy or resync of the pair (S side), if any. */
  copy: { kind: string; logicalBytes: number; dataBytes: number; seconds: number } | null;
}

export interface MetricsSnapshot {
  pairs: SnapshotPair[];
  journals: Array<{ name: string; role: string | null; capacity: number; used: number }>;
  pulls: Array<{ journal: string; pulls: number; entries: number; logicalBytes: number; dataBytes: number; referenceBytes: number; savedBytes: number; bytesPerSecond: number }>;
  /** NBD exports: null when the export registry does not report them. */
  exports: Array<{ name: string; volume: string; clients: number; bytesRead: number; bytesWritten: number }> | null;
  controllerStarts: number;
  controllerStartTime: number;
}

export class ArrayMetrics {
  readonly registry = new Registry<OpenMetricsContentType | PrometheusContentType>();
  private readonly hostBytes: Counter<'volume'>;
  private readonly hostLatency: Histogram;
  private readonly pullDuration: Histogram<'journal'>;
  private readonly g: Record<string, Gauge<string>> = {};
  private readonly c: Record<string, Counter<string>> = {};

  /** Counter names end in _total in the Prometheus text format; in OpenMetrics prom-client adds it. */
  private readonly total: string;

  /** `openMetrics`: for rendering as OpenMetrics 1.0 (counter families named without _total). */
  constructor(
    array: string,
    readonly openMetrics = false,
  ) {
    this.total = openMetrics ? '' : '_total';
    this.registry.setDefaultLabels({ array });
    const reg = [this.registry];
    this.hostBytes = new Counter({ name: `rcopy_host_write_bytes${this.total}`, help: 'Bytes written by hosts (io write, NBD, workloads)', labelNames: ['volume'], registers: reg });
    this.hostLatency = new Histogram({
      name: 'rcopy_host_write_latency_seconds',
      help: 'Host write latency: hooks (journal append), volume write and commit',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: reg,
    });
    this.pullDuration = new Histogram({
      name: 'rcopy_pull_duration_seconds',
      help: 'Duration of a pull round (secondary side): request sent to entries stored in the restore journal',
      labelNames: ['journal'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: reg,
    });
    const gauge = (name: string, help: string, labelNames: string[]) => (this.g[name] = new Gauge({ name, help, labelNames, registers: reg }));
    const counter = (base: string, help: string, labelNames: string[]) => (this.c[base] = new Counter({ name: base + this.total, help, labelNames, registers: reg }));
    gauge('rcopy_pair_state', "1 for the pair's current state on this side, 0 for the others", ['pair', 'svol', 'role', 'state']);
    gauge('rcopy_pair_entries_behind', 'Journal entries written on the primary and not yet restored (secondary side)', ['pair', 'svol']);
    gauge('rcopy_pair_bytes_behind', "Bytes in the primary's journal not yet restored (secondary side)", ['pair', 'svol']);
    gauge('rcopy_pair_rpo_seconds', 'Host time the secondary lacks: newest primary write minus consistency time (secondary side)', ['pair', 'svol']);
    gauge('rcopy_pair_consistency_time_seconds', 'Host time of the newest write restored (secondary side, Unix seconds)', ['pair', 'svol']);
    gauge('rcopy_copy_bytes', 'Bytes of the last initial copy or resync (logical, or sent as data)', ['pair', 'svol', 'kind', 'what']);
    gauge('rcopy_copy_duration_seconds', 'Duration of the last initial copy or resync', ['pair', 'svol', 'kind']);
    gauge('rcopy_journal_capacity_bytes', 'Journal capacity', ['journal', 'role']);
    gauge('rcopy_journal_used_bytes', 'Journal space in use', ['journal', 'role']);
    gauge('rcopy_journal_used_ratio', 'Journal space in use over capacity (0-1)', ['journal', 'role']);
    gauge('rcopy_pull_rate_bytes_per_second', 'Recent pull transfer rate', ['journal']);
    counter('rcopy_pulls', 'Pulls done (kept across controller restarts)', ['journal']);
    counter('rcopy_pull_entries', 'Journal entries pulled', ['journal']);
    counter('rcopy_pull_logical_bytes', 'Bytes pulled, as written by the hosts', ['journal']);
    counter('rcopy_pull_data_bytes', 'Bytes pulled that crossed the link as data', ['journal']);
    counter('rcopy_pull_reference_bytes', 'Bytes pulled as references instead of data', ['journal']);
    counter('rcopy_pull_saved_bytes', 'Bytes the references saved on the link', ['journal']);
    gauge('rcopy_controller_starts', 'Times this array’s controller started (restarts + 1)', []);
    gauge('rcopy_controller_start_time_seconds', 'When this controller started (Unix seconds)', []);
  }

  /** A host write of `bytes` to `volume` that took `seconds`. */
  hostWrite(volume: string, bytes: number, seconds: number): void {
    this.hostBytes.inc({ volume }, bytes);
    this.hostLatency.observe(seconds);
  }

  /** A pull round of restore journal `journal` that took `seconds`. */
  pullRound(journal: string, seconds: number): void {
    this.pullDuration.observe({ journal }, seconds);
  }

  private exportsAdded = false;

  /** Sets the snapshot series (the live ones stay). */
  update(s: MetricsSnapshot, now = Date.now()): void {
    for (const m of [...Object.values(this.g), ...Object.values(this.c)]) m.reset();
    const { g, c } = this;
    for (const p of s.pairs) {
      for (const st of PAIR_STATES) g.rcopy_pair_state!.set({ pair: p.id, svol: p.svol, role: p.role, state: st }, st === p.state ? 1 : 0);
      if (p.role === 'S') this.pairSeries(p, now);
    }
    for (const j of s.journals) {
      const l = { journal: j.name, role: j.role ?? 'unused' };
      g.rcopy_journal_capacity_bytes!.set(l, j.capacity);
      g.rcopy_journal_used_bytes!.set(l, j.used);
      g.rcopy_journal_used_ratio!.set(l, j.capacity ? j.used / j.capacity : 0);
    }
    for (const p of s.pulls) {
      const l = { journal: p.journal };
      g.rcopy_pull_rate_bytes_per_second!.set(l, p.bytesPerSecond);
      c.rcopy_pulls!.inc(l, p.pulls);
      c.rcopy_pull_entries!.inc(l, p.entries);
      c.rcopy_pull_logical_bytes!.inc(l, p.logicalBytes);
      c.rcopy_pull_data_bytes!.inc(l, p.dataBytes);
      c.rcopy_pull_reference_bytes!.inc(l, p.referenceBytes);
      c.rcopy_pull_saved_bytes!.inc(l, Math.max(0, p.savedBytes));
    }
    if (s.exports) this.exportSeries(s.exports);
    g.rcopy_controller_starts!.set(s.controllerStarts);
    g.rcopy_controller_start_time_seconds!.set(s.controllerStartTime / 1000);
  }

  private pairSeries(p: SnapshotPair, now: number): void {
    const { g } = this;
    const l = { pair: p.id, svol: p.svol };
    const r = rpoOf(p.primary, p.self, now);
    if (p.primary && r.entriesBehind !== null) g.rcopy_pair_entries_behind!.set(l, r.entriesBehind);
    if (p.primary && r.bytesBehind !== null) g.rcopy_pair_bytes_behind!.set(l, r.bytesBehind);
    if (r.rpoSeconds !== null) g.rcopy_pair_rpo_seconds!.set(l, r.rpoSeconds);
    if (p.self.consistencyTime) g.rcopy_pair_consistency_time_seconds!.set(l, p.self.consistencyTime / 1000);
    if (p.copy) {
      g.rcopy_copy_bytes!.set({ ...l, kind: p.copy.kind, what: 'logical' }, p.copy.logicalBytes);
      g.rcopy_copy_bytes!.set({ ...l, kind: p.copy.kind, what: 'data' }, p.copy.dataBytes);
      g.rcopy_copy_duration_seconds!.set({ ...l, kind: p.copy.kind }, p.copy.seconds);
    }
  }

  /** The export series are registered on the first snapshot that has exports to report. */
  private exportSeries(list: NonNullable<MetricsSnapshot['exports']>): void {
    if (!this.exportsAdded) {
      const reg = [this.registry];
      const labelNames = ['export', 'volume'];
      this.g.rcopy_export_clients = new Gauge({ name: 'rcopy_export_clients', help: 'NBD clients connected to the export', labelNames, registers: reg });
      this.c.rcopy_export_read_bytes = new Counter({ name: `rcopy_export_read_bytes${this.total}`, help: 'Bytes read by NBD clients of the export', labelNames, registers: reg });
      this.c.rcopy_export_written_bytes = new Counter({ name: `rcopy_export_written_bytes${this.total}`, help: 'Bytes written by NBD clients of the export', labelNames, registers: reg });
      this.exportsAdded = true;
    }
    for (const e of list) {
      const l = { export: e.name, volume: e.volume };
      this.g.rcopy_export_clients!.set(l, e.clients);
      this.c.rcopy_export_read_bytes!.inc(l, e.bytesRead);
      this.c.rcopy_export_written_bytes!.inc(l, e.bytesWritten);
    }
  }

  /** The registry as OpenMetrics 1.0 text or as Prometheus text 0.0.4 (what node_exporter's
   *  textfile collector and promtool read), as made; returns the text and its content type. */
  async render(): Promise<{ text: string; contentType: string }> {
    this.registry.setContentType(this.openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE);
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
