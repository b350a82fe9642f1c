/**
 * Validation of request parameters at the boundary: a request from a CLI or a peer that is not
 * what the method expects gets ERR_RCOPY_BAD_REQUEST and changes nothing.
 *
 * Two layers, with the same wording: the zod field builders below (`field.*`) make the params
 * schema of each method in methods.ts, checked by the controller before any handler runs; the
 * plain helpers (str, int...) read a field inside a handler (and check nested values that the
 * schema leaves to the handler, which gives them their own codes and messages).
 */
import { z } from 'zod';
import { E } from '../errors.js';

/** A request's params as they come off the wire (an object; checked by its method's schema). */
export type Params = Record<string, unknown>;

const bad = E.badRequest;

const MSG = {
  str: 'must be a non-empty string',
  int: (min: number, max: number) => `must be an integer from ${min} to ${max}`,
  num: (min: number, max: number) => `must be a number from ${min} to ${max}`,
  bool: 'must be true or false',
  oneOf: (values: readonly string[]) => `must be one of ${values.join(', ')}`,
  strList: 'must be a list of strings',
};

/** Zod schemas of single fields, each failing with the wording of the helper of the same name. */
export const field = {
  str: () => z.string({ error: MSG.str }).min(1, { error: MSG.str }).max(4096, { error: MSG.str }),
  optStr: () => field.str().nullish(),
  int: (min = 0, max = Number.MAX_SAFE_INTEGER) => {
    const m = MSG.int(min, max);
    return z.number({ error: m }).refine((v) => Number.isSafeInteger(v) && v >= min && v <= max, { error: m });
  },
  optInt: (min = 0, max = Number.MAX_SAFE_INTEGER) => field.int(min, max).nullish(),
  num: (min = -Infinity, max = Infinity) => {
    const m = MSG.num(min, max);
    return z.number({ error: m }).refine((v) => Number.isFinite(v) && v >= min && v <= max, { error: m });
  },
  optNum: (min = -Infinity, max = Infinity) => field.num(min, max).nullish(),
  /** Absent or null reads as false (bool()). */
  bool: () => z.boolean({ error: MSG.bool }).nullish(),
  oneOf: <T extends string>(values: readonly [T, ...T[]]) => z.enum(values, { error: MSG.oneOf(values) }),
  strList: () => z.array(z.string().min(1), { error: MSG.strList }).min(1, { error: MSG.strList }),
  /** A value the handler checks itself (its own codes and messages); typed here for callers. */
  checkedByHandler: <T>() => z.custom<T>(() => true),
};

/** The one-line error of the first problem zod found in a request's params. */
export function paramsError(method: string, error: z.ZodError): Error {
  const issue = error.issues[0];
  if (!issue) return bad(`'${method}': invalid params`);
  const key = issue.path.map(String).join('.');
  return key ? bad(`parameter '${key}' ${issue.message}`) : bad(`'${method}': ${issue.message}`);
}

export function str(p: Params, key: string): string {
  const v = p[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096) throw bad(`parameter '${key}' ${MSG.str}`);
  return v;
}

export function optStr(p: Params, key: string): string | undefined {
  return p[key] === undefined || p[key] === null ? undefined : str(p, key);
}

export function int(p: Params, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = p[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw bad(`parameter '${key}' ${MSG.int(min, max)}`);
  }
  return v;
}

export function optInt(p: Params, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  return p[key] === undefined || p[key] === null ? undefined : int(p, key, min, max);
}

export function num(p: Params, key: string, min = -Infinity, max = Infinity): number {
  const v = p[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw bad(`parameter '${key}' ${MSG.num(min, max)}`);
  return v;
}

export function optNum(p: Params, key: string, min = -Infinity, max = Infinity): number | undefined {
  return p[key] === undefined || p[key] === null ? undefined : num(p, key, min, max);
}

export function bool(p: Params, key: string): boolean {
  const v = p[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw bad(`parameter '${key}' ${MSG.bool}`);
  return v;
}

export function oneOf<T extends string>(p: Params, key: string, values: readonly T[], dflt?: T): T {
  const v = p[key] ?? dflt;
  if (typeof v !== 'string' || !values.includes(v as T)) throw bad(`parameter '${key}' ${MSG.oneOf(values)}`);
  return v as T;
}

export function strList(p: Params, key: string): string[] {
  const v = p[key];
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && x.length > 0)) throw bad(`parameter '${key}' ${MSG.strList}`);
  return v as string[];
}

export function needPayload(payload: Buffer | null, what: string): Buffer {
  if (!payload) throw bad(`${what}: the request carries no data`);
  return payload;
}
