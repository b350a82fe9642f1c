/** Pure helpers of the journal simulation (queue.ts): a send paused by outages, the lag figures. */

export interface Outage {
  /** ms, epoch. */
  start: number;
  end: number;
}

export interface LagFigures {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  withinRpo: number;
  samples: number;
}

/** The link's send of `bytes` starting at `s` (ms): when it ends, outages paused. */
export function sendEnd(s: number, ms: number, outages: Outage[]): number {
  let left = ms;
  for (const o of outages) {
    if (o.end <= s) continue;
    if (s >= o.start) s = o.end;
    else if (s + left > o.start) {
      left -= o.start - s;
      s = o.end;
    } else break;
  }
  return s + left;
}

/** Percentiles (nearest rank) and the share within the RPO of the lag samples. */
export function lagFigures(samples: Float64Array, max: number, rpoMs: number): LagFigures {
  const n = samples.length;
  if (n === 0) return { p50: 0, p90: 0, p99: 0, max, withinRpo: max <= rpoMs ? 1 : 0, samples: 0 };
  const s = Float64Array.from(samples).sort();
  const pct = (q: number) => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let within = 0;
  for (let i = 0; i < n; i++) if (s[i]! <= rpoMs) within++;
  return { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: Math.max(max, s[n - 1]!), withinRpo: within / n, samples: n };
}
