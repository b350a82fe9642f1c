/**
 * Crash points for tests: a controller started with RCOPY_FAULT=ARRAY:POINT[,ARRAY:POINT...]
 * kills itself with SIGKILL when ARRAY's engine reaches POINT — a real kill -9 at exactly the
 * step of a transition that a test wants to crash (DESIGN.md §4, invariant 7). Unset, it costs
 * one lookup. The points are named where they are placed (grep faultPoint).
 *
 * Delay points hold a step instead: RCOPY_DELAY=ARRAY:POINT:MS[,...] makes ARRAY's engine wait MS
 * milliseconds each time it reaches POINT (grep faultDelay), so that a test can put a state change
 * exactly inside the window that a race needs (a reply in flight across a takeover).
 */
import fs from 'node:fs';

const wanted = new Set(
  (process.env.RCOPY_FAULT ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

export function faultPoint(array: string, point: string, log?: string): void {
  if (!wanted.size || !wanted.has(`${array}:${point}`)) return;
  if (log) {
    try {
      fs.appendFileSync(log, `${new Date().toISOString()} [${array}] fault point ${point}: kill -9\n`);
    } catch {
      /* best effort */
    }
  }
  process.kill(process.pid, 'SIGKILL');
}

const delays = new Map<string, number>();
for (const item of (process.env.RCOPY_DELAY ?? '').split(',')) {
  const m = /^\s*([^:]+:[^:]+):(\d{1,6})\s*$/.exec(item);
  if (m) delays.set(m[1]!, Number(m[2]));
}

/** Waits at a delay point if this process was started with it armed; otherwise returns at once. */
export async function faultDelay(array: string, point: string, log?: string): Promise<void> {
  const ms = delays.size ? delays.get(`${array}:${point}`) : undefined;
  if (ms === undefined) return;
  if (log) {
    try {
      fs.appendFileSync(log, `${new Date().toISOString()} [${array}] delay point ${point}: holding ${ms} ms\n`);
    } catch {
      /* best effort */
    }
  }
  await new Promise((res) => setTimeout(res, ms));
}
