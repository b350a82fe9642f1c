/**
 * A worker thread of a parallel report (from-store.ts, reportFromStore): opens its own read-only
 * connection to the store and builds the reports of its share of the volumes over the frame it is
 * given; posts { parts } or { error } (an RcopyError as JSON).
 */
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { InternalError, RcopyError } from '../../../errors.js';
import { StatsStore } from '../store.js';
import type { ReportOptions } from './options.js';
import { reportShare } from './from-store.js';

const d = workerData as { file: string; group: string; opts: ReportOptions; volumes: string[]; perVolume: boolean };
let s: StatsStore | null = null;
try {
  s = StatsStore.openReadOnly(path.dirname(d.file));
  parentPort!.postMessage({ parts: reportShare(s, d.group, d.opts, d.volumes, d.perVolume) });
} catch (e) {
  const err = e instanceof RcopyError ? e : new InternalError(`report worker: ${(e as Error).message}`);
  parentPort!.postMessage({ error: err.toJSON() });
} finally {
  s?.close();
}
