/**
 * Parsing and formatting of sizes, rates, durations and names.
 * Sizes: binary multiples for k/M/G/T/P (64k = 65536), optional trailing B or iB.
 * Rates: a size per second; a lower-case 'b' after the unit means bits (1Gb/s = 125000000 B/s,
 *   decimal as network links are quoted), "MB/s" means 10^6 bytes per second.
 * Durations: ms, s, m, h, d; a bare number is seconds. A duration is at most MAX_TIMER_MS (what a
 *   Node timer holds: setTimeout fires at once beyond 2^31 - 1 ms, so `--interval 2147483648ms` would
 *   poll hundreds of times a second) unless the caller says it is no timer (`max`: report windows).
 */
import { E, type RcopyError } from './errors.js';

const BIN: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
const DEC: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

export function parseSize(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isSafeInteger(text) || text < 0) throw E.badSize(String(text), 'must be a whole number of bytes, not negative');
    return text;
  }
  const t = String(text).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?$/i.exec(t);
  if (!m) throw E.badSize(t, t.startsWith('-') ? 'negative' : 'not a size');
  const v = Number(m[1]) * BIN[(m[2] ?? '').toLowerCase()]!;
  if (!Number.isFinite(v) || !Number.isSafeInteger(Math.round(v))) throw E.badSize(t, 'too large');
  if (Math.round(v) !== v) throw E.badSize(t, 'not a whole number of bytes');
  return v;
}

/** Bytes per second. */
export function parseRate(text: string | number): number {
  if (typeof text === 'number') {
    if (!(text > 0)) throw E.badRate(String(text));
    return text;
  }
  const t = String(text).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)(i?)([bB]?)(?:\/s|ps)?$/.exec(t);
  if (!m) throw E.badRate(t);
  const unit = (m[2] ?? '').toLowerCase();
  const bits = m[4] === 'b';
  const binary = m[3] === 'i' || (!bits && m[4] === '' && unit !== '');
  let v = Number(m[1]) * (binary ? BIN[unit]! : DEC[unit]!);
  if (bits) v /= 8;
  if (!(v > 0) || !(v <= Number.MAX_SAFE_INTEGER)) throw E.badRate(t.length > 40 ? `${t.slice(0, 40)}...` : t);
  return v;
}

/** The longest delay a Node timer holds, ms (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** The longest duration that no timer waits for (a report window, an import interval): 100 years. */
export const MAX_SPAN_MS = 100 * 365 * 86_400_000;

export interface DurationOptions {
  /** The option or field the text came from, named in the error (`--interval`). */
  option?: string;
  /** Largest value accepted, ms (default MAX_TIMER_MS). */
  max?: number;
}

function badDuration(text: string, opts: DurationOptions, why?: string): RcopyError {
  const what = opts.option ? `${opts.option} ` : 'duration ';
  return E.badDuration(text, what, why);
}

/** Milliseconds. Refuses more than `opts.max` (what a timer holds, by default), naming the option. */
export function parseDuration(text: string | number, opts: DurationOptions = {}): number {
  const max = opts.max ?? MAX_TIMER_MS;
  let v: number;
  let t: string;
  if (typeof text === 'number') {
    t = String(text);
    if (!(text >= 0)) throw badDuration(t, opts);
    v = text * 1000;
  } else {
    t = String(text).trim();
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(t);
    if (!m) throw badDuration(t.length > 40 ? `${t.slice(0, 40)}...` : t, opts);
    const mult: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
    v = Number(m[1]) * mult[m[2] ?? 's']!;
  }
  if (!(v <= max)) {
    const limit = max === MAX_TIMER_MS ? `${max} ms (24.8 days), the longest a timer can wait` : `${formatDuration(max)}`;
    throw badDuration(t.length > 40 ? `${t.slice(0, 40)}...` : t, opts, `longer than ${limit}`);
  }
  return v;
}

/** A commander option parser that refuses a bad duration with the option named, keeping the text. */
export function durationArg(option: string, opts: Omit<DurationOptions, 'option'> = {}): (text: string) => string {
  return (text) => {
    parseDuration(text, { ...opts, option });
    return text;
  };
}

export function parsePercent(text: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(String(text).trim());
  if (!m) throw E.badInput(`invalid percentage '${text}'`, 'use e.g. 10%');
  return Number(m[1]) / 100;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkName(what: string, name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw E.badName(what, String(name), 'empty');
  if (name.includes('/') || name.includes('\\')) throw E.badName(what, name, "contains '/'");
  if (name.includes('..')) throw E.badName(what, name, "contains '..'");
  if (!NAME_RE.test(name)) throw E.badName(what, name, 'not allowed characters or too long');
  return name;
}

/** Splits 'ARRAY:VOLUME' and checks both names. */
export function parseVolRef(ref: string): { array: string; name: string } {
  const i = String(ref).indexOf(':');
  if (i <= 0 || i === ref.length - 1) {
    throw E.usage(`'${ref}' is not ARRAY:NAME`, 'name a volume as ARRAY:VOLUME, e.g. siteA:vol1');
  }
  return { array: checkName('array', ref.slice(0, i)), name: checkName('volume', ref.slice(i + 1)) };
}

/** Splits 'ARRAY:VOLUME' or a drill's view 'ARRAY:VOLUME@DRILL' (name: 'VOLUME@DRILL'), checking each name. */
export function parseVolOrViewRef(ref: string): { array: string; name: string } {
  const at = String(ref).indexOf('@');
  if (at < 0) return parseVolRef(ref);
  const v = parseVolRef(ref.slice(0, at));
  return { array: v.array, name: `${v.name}@${checkName('drill', ref.slice(at + 1))}` };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

export function formatRate(bytesPerSec: number): string {
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];
  let i = 0;
  let v = bytesPerSec;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s - m * 60)}s`;
  const h = Math.floor(m / 60);
  return `${h}h${m - h * 60}m`;
}

/** Parses a time for --from/--to: ISO 8601, or epoch seconds/milliseconds. Returns epoch ms. */
export function parseTime(text: string): number {
  const t = String(text).trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    const ms = n < 1e12 ? n * 1000 : n;
    if (!(ms <= 8.64e15)) throw E.badInput(`invalid time '${t.length > 40 ? `${t.slice(0, 40)}...` : t}': past the year 275760`, 'use ISO 8601, e.g. 2026-11-22T10:00:00Z, or epoch seconds');
    return ms;
  }
  const v = Date.parse(t);
  if (Number.isNaN(v)) throw E.badInput(`invalid time '${t}'`, 'use ISO 8601, e.g. 2026-11-22T10:00:00Z, or epoch seconds');
  return v;
}
