/**
 * The stable shape of `--json` (and YAML) output, applied to every command's data in one place:
 *
 * - `schemaVersion`: an object result carries it at the top; a list (a JSON array, kept as the
 *   array it has always been so that `jq '.[]'` scripts keep working) carries it in each element,
 *   as the JSON lines of `rcopy events` do. It changes only when a field is removed, renamed or
 *   changes type; new fields are added under the same version. Schemas: schemas/*.schema.json.
 * - Times: every epoch-milliseconds field named in MS_FIELDS keeps its number (scripts do
 *   arithmetic on it) and gets a sibling with the same instant as ISO 8601 text: `created` →
 *   `createdAt`, `imageTime` → `imageTimeAt` (the field name plus `At`; `lastPullAt` → `lastPullAtIso`).
 */
export const JSON_SCHEMA_VERSION = 1;

/** Fields that hold a time as epoch milliseconds, wherever they appear in a command's data. */
export const MS_FIELDS = new Set([
  'created',
  'started',
  'finished',
  'pointInTime',
  'imageTime',
  'stateSince',
  'oldestTimestamp',
  'newestTimestamp',
  'consistencyTime',
  'lastPullAt',
  'failingSince',
  'countingSince',
  'changed',
  'time',
  'startedAt',
  'finishedAt',
  'since',
  'intervalStart',
  'lastCollect',
  'from',
  'to',
  'start',
  'end',
]);

/** The ISO sibling's name of an epoch-ms field. */
export function isoName(field: string): string {
  return field.endsWith('At') ? `${field}Iso` : `${field}At`;
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);

/** A plausible epoch-ms time: 2001-09-09 .. 2286-11-20. */
const isEpochMs = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1e12 && v < 1e13;

/** Adds the ISO sibling of every epoch-ms field, at every depth (an existing sibling is kept). */
export function withIsoTimes(v: unknown, depth = 0): unknown {
  if (depth > 32) return v;
  if (Array.isArray(v)) return v.map((x) => withIsoTimes(x, depth + 1));
  if (!isPlain(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = withIsoTimes(x, depth + 1);
    if (MS_FIELDS.has(k) && isEpochMs(x) && !(isoName(k) in v)) out[isoName(k)] = new Date(x).toISOString();
  }
  return out;
}

/** A command's data as --json prints it: versioned, with ISO times beside the epoch-ms ones. */
export function jsonShape(data: unknown): unknown {
  const d = withIsoTimes(data);
  if (Array.isArray(d)) return d.map((x) => (isPlain(x) ? { schemaVersion: JSON_SCHEMA_VERSION, ...x } : x));
  if (isPlain(d)) return { schemaVersion: JSON_SCHEMA_VERSION, ...d };
  return d;
}

/**
 * The columns of CSV made from a list of objects: every key of any row, and beside each epoch-ms
 * column its ISO 8601 column (empty where the time is absent), whether or not a row has a time.
 */
export function csvColumns(rows: Record<string, unknown>[]): { head: string[]; cells: (r: Record<string, unknown>, h: string) => unknown } {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const head = keys.flatMap((k) => (MS_FIELDS.has(k) && !keys.includes(isoName(k)) ? [k, isoName(k)] : [k]));
  const isoOf = new Map(keys.filter((k) => MS_FIELDS.has(k)).map((k) => [isoName(k), k]));
  const cells = (r: Record<string, unknown>, h: string): unknown => {
    const src = isoOf.get(h);
    if (src === undefined || h in r) return r[h];
    const v = r[src];
    return isEpochMs(v) ? new Date(v).toISOString() : null;
  };
  return { head, cells };
}
