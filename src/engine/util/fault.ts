/**
 * Crash points for tests: a controller started with RCOPY_FAULT=ARRAY:POINT[,ARRAY:POINT...]
 * kills itself with SIGKILL when ARRAY's engine reaches POINT — a real kill -9 at exactly the
 * step of a transition that a test wants to crash (DESIGN.md §4, invariant 7). Unset, it costs
 * one lookup. The points are named where they are placed (grep faultPoint).
 */
import fs from 'node:fs';

const wanted = new Set((process.env.RCOPY_FAULT ?? '').split(',').map((s) => s.trim()).filter(Boolean));

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
