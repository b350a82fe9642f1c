/**
 * Parsing and formatting of sizes, rates, durations and names.
 * Sizes: binary multiples for k/M/G/T/P (64k = 65536), optional trailing B or iB.
 * Rates: a size per second; a lower-case 'b' after the unit means bits (1Gb/s = 125000000 B/s,
 *   decimal as network links are quoted), "MB/s" means 10^6 bytes per second.
 * Durations: ms, s, m, h, d; a bare number is seconds.
 */
import { E } from './errors.js';

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
  if (!(v > 0) || !Number.isFinite(v)) throw E.badRate(t);
  return v;
}

/** Milliseconds. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (!(text >= 0)) throw E.badDuration(String(text));
    return text * 1000;
  }
  const t = String(text).trim();
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(t);
  if (!m) throw E.badDuration(t);
  const mult: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  return Number(m[1]) * mult[m[2] ?? 's']!;
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
    return n < 1e12 ? n * 1000 : n;
  }
  const v = Date.parse(t);
  if (Number.isNaN(v)) throw E.badInput(`invalid time '${t}'`, 'use ISO 8601, e.g. 2026-11-22T10:00:00Z, or epoch seconds');
  return v;
}
