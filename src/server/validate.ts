/**
 * Validation of request parameters at the boundary: a request from a CLI or a peer that is not
 * what the method expects gets ERR_RCOPY_BAD_REQUEST and changes nothing.
 */
import { RcopyError } from '../errors.js';
import type { Params } from './handlers.js';

function bad(msg: string): RcopyError {
  return new RcopyError('ERR_RCOPY_BAD_REQUEST', msg, { kind: 'usage' });
}

export function str(p: Params, key: string): string {
  const v = p[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096) throw bad(`parameter '${key}' must be a non-empty string`);
  return v;
}

export function optStr(p: Params, key: string): string | undefined {
  return p[key] === undefined || p[key] === null ? undefined : str(p, key);
}

export function int(p: Params, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = p[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw bad(`parameter '${key}' must be an integer from ${min} to ${max}`);
  }
  return v;
}

export function optInt(p: Params, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  return p[key] === undefined || p[key] === null ? undefined : int(p, key, min, max);
}

export function num(p: Params, key: string, min = -Infinity, max = Infinity): number {
  const v = p[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw bad(`parameter '${key}' must be a number from ${min} to ${max}`);
  return v;
}

export function optNum(p: Params, key: string, min = -Infinity, max = Infinity): number | undefined {
  return p[key] === undefined || p[key] === null ? undefined : num(p, key, min, max);
}

export function bool(p: Params, key: string): boolean {
  const v = p[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw bad(`parameter '${key}' must be true or false`);
  return v;
}

export function oneOf<T extends string>(p: Params, key: string, values: readonly T[], dflt?: T): T {
  const v = p[key] ?? dflt;
  if (typeof v !== 'string' || !values.includes(v as T)) throw bad(`parameter '${key}' must be one of ${values.join(', ')}`);
  return v as T;
}

export function strList(p: Params, key: string): string[] {
  const v = p[key];
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && x.length > 0)) throw bad(`parameter '${key}' must be a list of strings`);
  return v as string[];
}

export function needPayload(payload: Buffer | null, what: string): Buffer {
  if (!payload) throw bad(`${what}: the request carries no data`);
  return payload;
}
