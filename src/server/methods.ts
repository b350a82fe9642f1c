/**
 * The contract between the CLI (and peer controllers) and a controller: every method's name, the
 * schema of its params and the type of its result.
 *
 * - PARAMS: one zod schema per method. The controller checks a request's params against it before
 *   the handler runs (a mismatch is ERR_RCOPY_BAD_REQUEST and changes nothing); the schemas only
 *   check (no defaults, no transforms), so the handler sees the params as they were sent.
 * - Results: the type of each method's result (the `r` of the reply; methods that carry bulk data
 *   also return a payload, see WithPayload). Not checked at run time: the controller is trusted.
 * - RpcClient.call and the handlers (handlers.ts) are both typed from these two tables.
 *
 * Fields that a handler checks itself with codes of their own (nested lists of stats.import,
 * backup --info, the runs of repl.readRuns...) are `field.checkedByHandler` here: typed for
 * callers, checked once, by the handler.
 */
import { z } from 'zod';
import type { PrimaryHashes, VerifyPairResult } from '../engine/repl/verify.js';
import type { EventRow } from '../engine/ops/events.js';
import type { ArrayInfo } from '../engine/array/array.js';
import type { BackupRecord, RestoreResult, VerifyResult } from '../engine/backup/manager.js';
import type { PairState } from '../engine/repl/pair-state.js';
import type { PullStats } from '../engine/repl/pull-stats.js';
import type { LinkRow } from '../engine/repl/repl-store.js';
import type { PrimaryInfo, PullReplyEntry } from '../engine/repl/replicator.js';
import type { CutResult } from '../engine/stats/collector.js';
import type { GroupInfo } from '../engine/stats/store.js';
import type { VolumeInfo } from '../engine/array/volume.js';
import type { WorkloadResult } from '../engine/array/workload.js';
import type { ExportView } from './nbd/types.js';
import type { TransportStatus } from './transport/types.js';
import type { JobView, ObjectUse } from './admin-types.js';
import type { DrillRow } from '../engine/drill/drill-store.js';

export type { JobView, ObjectUse };
import type { JournalInfo, PairDetail, PairOpResult, PairView } from './views.js';
export type { JournalInfo, PairDetail, PairOpResult, PairView };
import { field as f } from './validate.js';

const none = z.object({});
const journalName = z.object({ journal: f.str() });
const pairId = z.object({ id: f.str() });
const groupName = z.object({ group: f.str() });
const backupNumber = z.object({ number: f.int(1), progress: f.bool() });
const journalOptions = { blockadeWatchMs: f.optNum(100), overflowWatchMs: f.optNum(100), autoResync: f.bool() };

/** A stats data group set as `stats define` sends it (checked by the stats handler). */
export interface GroupDefInput {
  name: string;
  intervalMs: number;
  volumes: string[];
  datasets?: Array<{ name: string; volume: string; startByte: number; endByte: number }>;
}

/** One entry of a trace import (its bitmap travels in the payload, `length` bytes). */
export type ImportEntryInput = {
  start: number;
  end: number;
  volume: string;
  tracks: number;
  trackSize: number;
  count: number;
  writes: number;
  writeBytes: number;
  enc: number;
  length: number;
};

export const PARAMS = {
  // ---------------------------------------------------------------- the array and its volumes
  'controller.ping': none,
  'controller.stop': none,
  'array.info': none,
  'array.check': none,
  'array.usage': z.object({ volume: f.optStr(), journal: f.optStr() }),
  'jobs.list': none,
  'jobs.stop': z.object({ id: f.optInt(1), kind: f.optStr(), reason: f.optStr() }),
  'volume.create': z.object({ name: f.str(), size: f.int(1) }),
  'volume.list': none,
  'volume.show': z.object({ name: f.str() }),
  'volume.delete': z.object({ name: f.str() }),

  // ---------------------------------------------------------------- host I/O and workloads
  /** sync: false lets one command's chunks share a single commit (io.commit) at its end. */
  'io.write': z.object({ volume: f.str(), offset: f.int(), sync: z.boolean({ error: 'must be true or false' }).optional() }),
  'io.commit': none,
  'io.read': z.object({ volume: f.str(), offset: f.int(), length: f.int(0, 64 * 1024 * 1024) }),
  'io.checksum': z.object({ volume: f.str(), offset: f.optInt(), length: f.optInt() }),
  'workload.run': z.object({
    volumes: f.strList(),
    pattern: f.oneOf(['seq', 'random', 'zipf']).nullish(),
    bs: f.int(512, 64 * 1024 * 1024),
    rate: f.optNum(1),
    durationMs: f.optNum(1),
    bytes: f.optInt(1),
    writeRatio: f.num(0, 1).optional(),
    seed: f.optInt(),
    depth: f.optInt(1, 64),
    stamp: f.bool(),
    progress: f.bool(),
  }),

  // ---------------------------------------------------------------- backups
  'backup.create': z.object({
    source: f.str(),
    target: f.str(),
    label: f.optStr(),
    info: f.checkedByHandler<Record<string, string> | undefined>(),
    incremental: f.bool(),
    keep: f.optInt(1, 100000),
    rate: f.optNum(1),
    progress: f.bool(),
  }),
  'backup.list': z.object({ source: f.optStr() }),
  'backup.show': z.object({ number: f.int(1) }),
  'backup.verify': backupNumber,
  'backup.checkRestore': z.object({ number: f.int(1), to: f.optStr() }),
  'backup.restore': z.object({ number: f.int(1), to: f.optStr(), progress: f.bool() }),
  'backup.delete': z.object({ number: f.int(1) }),

  // ---------------------------------------------------------------- PB-bit statistics
  'stats.define': z.object({ groups: f.checkedByHandler<GroupDefInput[]>() }),
  'stats.start': z.object({ group: f.str(), intervalMs: f.optInt() }),
  'stats.stop': groupName,
  'stats.collect': groupName,
  'stats.status': groupName,
  'stats.import': z.object({
    group: f.str(),
    intervalMs: f.int(1),
    members: f.checkedByHandler<Array<{ volume: string; tracks: number; trackSize: number }>>(),
    entries: f.checkedByHandler<ImportEntryInput[]>(),
  }),

  // ---------------------------------------------------------------- journals and links
  'journal.create': z.object({ name: f.str(), size: f.int(1), ...journalOptions }),
  'journal.set': z.object({ name: f.str(), ...journalOptions, references: z.union([z.boolean(), z.literal('auto')], { error: "must be true, false or 'auto'" }).nullish() }),
  'journal.list': none,
  'journal.show': z.object({ name: f.str() }),
  'journal.delete': z.object({ name: f.str() }),
  'link.set': z.object({ peer: f.str(), bandwidth: f.num(1).nullable().optional(), latencyMs: f.num(0, 60_000).optional(), up: f.bool() }),
  'link.list': none,

  // ---------------------------------------------------------------- pairs and pulls (CLI-facing)
  'pair.create': z.object({
    pvol: f.str(),
    svol: f.str(),
    pjournal: f.str(),
    sjournal: f.str(),
    mode: f.oneOf(['async', 'sync']).nullish(),
    group: f.optStr(),
    nocopy: f.bool(),
    syncTimeoutMs: f.optInt(100, 3_600_000),
    fence: f.oneOf(['never', 'data']).optional(),
    references: f.bool(),
  }),
  'pair.list': none,
  'pair.find': z.object({ volume: f.str() }),
  'pair.group': groupName,
  'pair.show': pairId,
  /** yes: end a running drill of the group (handlers/drill-handlers.ts) instead of refusing. */
  'pair.delete': z.object({ id: f.str(), force: f.bool(), yes: f.bool() }),
  'pair.split': z.object({ id: f.str(), rw: f.bool(), yes: f.bool() }),
  'pair.resync': z.object({ id: f.str(), swap: f.bool(), references: f.bool(), yes: f.bool() }),
  'pair.takeover': z.object({ id: f.str(), yes: f.bool() }),
  'pair.revert': pairId,
  'pair.cancel': pairId,
  'pair.await': z.object({ id: f.str(), from: f.str(), timeoutMs: f.int(0, 10_000) }),
  'pull.start': z.object({ journal: f.str(), intervalMs: f.optInt(1), references: f.bool() }),
  'pull.stop': journalName,
  'pull.status': journalName,
  'pull.once': journalName,

  // ---------------------------------------------------------------- NBD exports
  'export.start': z.object({ volume: f.str(), name: f.optStr(), socket: f.optStr(), listen: f.optStr(), readOnly: f.bool(), tlsPsk: f.optStr() }),
  'export.list': none,
  /** volume null: every export of the array. */
  'export.stop': z.object({ volume: f.str().nullable() }),
  // ---------------------------------------------------------------- operations (metrics, events, verify)
  'metrics.get': z.object({ openMetrics: f.bool() }),
  'metrics.serve': z.object({ listen: f.str().nullable() }),
  'pair.verify': z.object({ id: f.str(), repair: f.bool() }),
  'events.list': z.object({ afterId: f.optInt(0), since: f.optInt(0) }),
  'repl.verifyHashes': z.object({ journal: f.str(), volume: f.str(), first: f.int(), last: f.int(), after: f.int() }),

  // ---------------------------------------------------------------- peer methods (controller to controller)
  'repl.pull': z.object({ journal: f.str(), after: f.int(), restored: f.int(), maxBytes: f.int(1, 256 * 1024 * 1024), from: f.str(), refs: f.bool() }),
  'repl.readEntryData': z.object({ journal: f.str(), seq: f.int(1), offset: f.int(), length: f.int(1, 64 * 1024 * 1024) }),
  'repl.info': journalName,
  'repl.ack': z.object({ journal: f.str(), restored: f.int() }),
  'repl.kick': journalName,
  'repl.allocMap': z.object({ volume: f.str() }),
  'repl.diffMap': z.object({ pair: f.str() }),
  'repl.readRuns': z.object({ volume: f.str(), runs: f.checkedByHandler<Array<[number, number]>>() }),
  'repl.readTracks': z.object({ volume: f.str(), offset: f.int(), length: f.int(1, 64 * 1024 * 1024) }),
  'repl.trackHashes': z.object({ volume: f.str(), ranges: f.checkedByHandler<Array<[number, number]>>() }),
  'repl.primaryCreate': z.object({
    pvol: f.str(),
    svolArray: f.str(),
    svol: f.str(),
    size: f.int(1),
    pjournal: f.str(),
    sjournal: f.str(),
    mode: f.oneOf(['async', 'sync']),
    group: f.str(),
    nocopy: f.bool(),
    syncTimeoutMs: f.optInt(100, 3_600_000),
    fence: f.oneOf(['never', 'data']).nullish(),
    base: f.optInt(0),
  }),
  'repl.primaryDelete': z.object({ pair: f.str(), guard: f.bool(), yes: f.bool() }),
  'repl.primarySplit': journalName,
  'repl.primaryFinishSplit': z.object({ journal: f.str(), restored: f.int() }),
  'repl.primarySuspend': z.object({ journal: f.str(), state: f.oneOf(['PSUS', 'PSUE']), reason: f.str() }),
  'repl.primaryBeginResync': journalName,
  'repl.groupCopyDone': z.object({ journal: f.str(), pairs: f.checkedByHandler<string[]>() }),
  'repl.primarySuspended': z.object({ journal: f.str(), state: f.oneOf(['PSUE', 'PFUS', 'PSUS']), reason: f.str(), from: f.str() }),
  'repl.primarySwap': z.object({ journal: f.str(), base: f.int() }),
  // ---------------------------------------------------------------- DR drills (handlers/drill-handlers.ts)
  /** volume: an S-VOL of the group; or group: the group's name. */
  'drill.start': z.object({ volume: f.optStr(), group: f.optStr(), name: f.optStr(), maxSize: f.optInt(1) }),
  'drill.stop': z.object({ name: f.str(), result: f.oneOf(['pass', 'fail']).optional(), note: f.optStr() }),
  'drill.list': z.object({ since: f.optInt(0) }),
  'drill.show': z.object({ name: f.str() }),
  // ---------------------------------------------------------------- TCP transport (transport/)
  'transport.serve': z.object({ listen: f.str(), security: f.oneOf(['tls', 'psk', 'insecure']), cert: f.optStr(), key: f.optStr(), psk: f.optStr() }),
  'transport.unserve': none,
  'transport.token': z.object({ rotate: f.bool() }),
  'transport.status': none,
} satisfies Record<string, z.ZodType<object>>;

type StatsCurrent = { start: number; intervalMs: number; changedTracks: number; writes: number } | null;

/** The result of each method (the reply's `r`). */
export interface Results {
  'controller.ping': { pid: number; name: string; uptime: number };
  'controller.stop': { pid: number; stopping: true };
  'array.info': ArrayInfo & { pid: number };
  'array.check': { array: string; ok: boolean; findings: Array<{ what: string; problem: string }> };
  'array.usage': ObjectUse[];
  'jobs.list': JobView[];
  'jobs.stop': JobView[];
  'volume.create': VolumeInfo;
  'volume.list': VolumeInfo[];
  'volume.show': VolumeInfo;
  'volume.delete': { deleted: string };
  'io.write': { written: number };
  'io.commit': { committed: true };
  'io.read': { length: number };
  'io.checksum': { sha256: string; bytes: number };
  /** cancelled: why it stopped before its end (jobs stop, the client gone), else null */
  'workload.run': WorkloadResult & { cancelled?: string | null };
  'backup.create': BackupRecord;
  'backup.list': BackupRecord[];
  'backup.show': BackupRecord & { generationsInChain: number; undoTracks: number };
  'backup.verify': VerifyResult;
  'backup.checkRestore': { dest: string; size: number };
  'backup.restore': RestoreResult;
  'backup.delete': { deleted: string; freedVolume: string | null };
  'stats.define': GroupInfo[];
  'stats.start': GroupInfo;
  'stats.stop': CutResult;
  'stats.collect': CutResult;
  'stats.status': GroupInfo & { current: StatsCurrent };
  'stats.import': GroupInfo;
  'journal.create': JournalInfo;
  'journal.set': JournalInfo;
  'journal.list': JournalInfo[];
  'journal.show': JournalInfo;
  'journal.delete': { deleted: string };
  'link.set': LinkRow;
  'link.list': LinkRow[];
  'pair.create': PairView;
  'pair.list': PairView[];
  'pair.find': PairView[];
  'pair.group': PairView[];
  'pair.show': PairDetail;
  'pair.delete': { deleted: string; remote: string };
  'pair.split': PairOpResult;
  'pair.resync': PairOpResult;
  'pair.takeover': PairOpResult;
  'pair.revert': PairOpResult;
  'pair.cancel': PairOpResult;
  'pair.await': { state: PairState | null };
  'pull.start': PullStats;
  'pull.stop': PullStats;
  'pull.status': PullStats;
  'pull.once': { entries: number; bytes: number; waiting: number; info: PrimaryInfo | null; skipped?: boolean; status: PullStats };
  'export.start': ExportView;
  'export.list': ExportView[];
  'export.stop': { stopped: string[] };
  /** The array's metrics as prom-client's JSON (the CLI joins arrays and renders the text). */
  'metrics.get': { array: string; json: unknown[] };
  'metrics.serve': { array: string; listen: string | null; url: string | null };
  /** Online verify of a group (engine/repl/verify.ts); with repair, the resync started for the differing tracks. */
  /** cancelled: why the verify ended before its end (jobs stop, Ctrl-C), else null */
  'pair.verify': { pairs: VerifyPairResult[]; seconds: number; bytes: number; repair: PairOpResult | null; cancelled: string | null };
  'repl.verifyHashes': PrimaryHashes;
  'events.list': { array: string; events: EventRow[] };
  'repl.pull': { entries: PullReplyEntry[]; info: PrimaryInfo };
  'repl.readEntryData': null;
  'repl.info': PrimaryInfo;
  'repl.ack': null;
  'repl.kick': null;
  'repl.allocMap': null;
  'repl.diffMap': { count: number };
  'repl.readRuns': null;
  'repl.readTracks': null;
  'repl.trackHashes': { hashes: string[][]; hints?: Array<Array<Array<[number, number]> | null>> };
  'repl.primaryCreate': { id: string; state: PairState; lastSeq: number };
  'repl.primaryDelete': { deleted: boolean };
  'repl.primarySplit': { splitSeq: number; states: Record<string, PairState> };
  'repl.primaryFinishSplit': null;
  'repl.primarySuspend': null;
  'repl.primaryBeginResync': { lastSeq: number };
  'repl.groupCopyDone': { lastSeq: number };
  'repl.primarySuspended': null;
  'repl.primarySwap': { base: number };
  'transport.serve': TransportStatus;
  'transport.unserve': TransportStatus & { stopped: string | null };
  'transport.token': { token: string; file: string };
  'transport.status': TransportStatus;
  'drill.start': DrillRow;
  'drill.stop': DrillRow;
  'drill.list': DrillRow[];
  'drill.show': DrillRow;
}

export type Method = keyof typeof PARAMS;
/** What a caller sends. */
export type ParamsOf<M extends Method> = z.input<(typeof PARAMS)[M]>;
export type ResultOf<M extends Method> = Results[M];

/** Every method of PARAMS has a result type, and every result type a method. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const contractComplete: Same<Method, keyof Results> = true;
void contractComplete;

export function isMethod(name: string): name is Method {
  return Object.prototype.hasOwnProperty.call(PARAMS, name);
}
