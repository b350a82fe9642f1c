/**
 * The YAML config table of data group sets (`rcopy stats define ARRAY --config FILE.yaml`):
 *
 *   groups:
 *     - name: oltp                 # group name (letters, digits, . _ -)
 *       interval: 1m               # collection interval (default 1m)
 *       volumes: [db, logs]        # volumes of the array (a list, or "db,logs")
 *       datasets:                  # optional named track ranges of those volumes
 *         - { name: tables, volume: db, range: 0-128M }
 *
 * Every problem is one ERR_RCOPY_CONFIG error (exit 2) that names the file and the line; nothing is
 * defined unless the whole file is valid.
 */
import { RcopyError } from '../../errors.js';
import { checkName, parseDuration, parseSize } from '../../units.js';
import type { GroupDef } from './store.js';

export const DEFAULT_INTERVAL_MS = 60_000;

export function configError(file: string, line: number | null, message: string, hint?: string): RcopyError {
  return new RcopyError('ERR_RCOPY_CONFIG', `${file}${line ? `:${line}` : ''}: ${message}`, { kind: 'usage', hint: hint ?? 'see samples/stats-config.yaml for the layout' });
}

/** Parses NAME=VOL:START-END (sizes with units) into a data set. */
export function parseDataSetSpec(spec: string): { name: string; volume: string; startByte: number; endByte: number } {
  const m = /^([^=]+)=([^:]+):([^-]+)-(.+)$/.exec(String(spec).trim());
  if (!m) throw new RcopyError('ERR_RCOPY_BAD_INPUT', `invalid data set '${spec}'`, { kind: 'usage', hint: 'use NAME=VOLUME:START-END, e.g. tables=db:0-128M' });
  const d = { name: checkName('data set', m[1]!), volume: checkName('volume', m[2]!), startByte: parseSize(m[3]!), endByte: parseSize(m[4]!) };
  if (!(d.endByte > d.startByte)) throw new RcopyError('ERR_RCOPY_BAD_INPUT', `data set '${d.name}': the range ${m[3]}-${m[4]} is empty`, { kind: 'usage', hint: 'END must be after START' });
  return d;
}

/**
 * Parses and checks a config table against the array's volumes (name -> size in bytes).
 */
export async function parseStatsConfig(text: string, file: string, volumes: Map<string, number>): Promise<GroupDef[]> {
  const YAML = await import('yaml');
  const lc = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const line = err.linePos?.[0]?.line ?? lc.linePos(err.pos[0]).line;
    throw configError(file, line, `not valid YAML: ${err.message.split('\n')[0]}`);
  }
  type N = { range?: [number, number, number] | null } | null | undefined;
  const lineOf = (n: unknown): number | null => {
    const r = (n as N)?.range;
    return r ? lc.linePos(r[0]).line : null;
  };
  const fail = (n: unknown, msg: string, hint?: string): never => {
    throw configError(file, lineOf(n), msg, hint);
  };
  const scalar = (n: unknown, what: string): string => {
    if (!YAML.isScalar(n) || n.value === null || typeof n.value === 'object') fail(n, `${what} must be a single value`);
    return String((n as { value: unknown }).value).trim();
  };
  const attempt = <T>(n: unknown, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof RcopyError && e.code !== 'ERR_RCOPY_CONFIG') return fail(n, e.message, e.hint);
      throw e;
    }
  };

  let groupsNode: unknown = doc.contents;
  if (YAML.isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      const k = YAML.isScalar(pair.key) ? String(pair.key.value) : '';
      if (k !== 'groups') fail(pair.key, `unknown key '${k}'`, "the file has one key, 'groups', a list of groups");
    }
    groupsNode = doc.contents.get('groups', true);
    if (groupsNode === undefined) fail(doc.contents, "missing 'groups'");
  }
  if (!YAML.isSeq(groupsNode) || groupsNode.items.length === 0) return fail(groupsNode ?? doc.contents, "'groups' must be a non-empty list of groups");

  const defs: GroupDef[] = [];
  const seen = new Map<string, number | null>();
  for (const g of groupsNode.items) {
    if (!YAML.isMap(g)) fail(g, 'each group must be a map with name, volumes, and optionally interval and datasets');
    const gm = g as import('yaml').YAMLMap;
    let name: string | null = null;
    let intervalMs = DEFAULT_INTERVAL_MS;
    let vols: string[] | null = null;
    let volsNode: unknown = null;
    const dsNodes: unknown[] = [];
    for (const pair of gm.items) {
      const k = YAML.isScalar(pair.key) ? String(pair.key.value) : '';
      const v = pair.value;
      switch (k) {
        case 'name':
          name = attempt(v, () => checkName('group', scalar(v, 'name')));
          if (seen.has(name)) fail(v, `group '${name}' is defined twice (first at line ${seen.get(name)})`);
          seen.set(name, lineOf(v));
          break;
        case 'interval':
          intervalMs = attempt(v, () => parseDuration(scalar(v, 'interval')));
          if (!(intervalMs >= 100)) fail(v, `interval must be at least 100ms`);
          break;
        case 'volumes': {
          volsNode = v;
          const items: unknown[] = YAML.isSeq(v) ? v.items : [v];
          vols = [];
          for (const it of items) {
            for (const vname of scalar(it, 'a volume name').split(',').map((s) => s.trim()).filter(Boolean)) {
              attempt(it, () => checkName('volume', vname));
              if (!volumes.has(vname)) fail(it, `the array has no volume '${vname}'`, `its volumes: ${[...volumes.keys()].join(', ') || 'none'}`);
              if (!vols.includes(vname)) vols.push(vname);
            }
          }
          break;
        }
        case 'datasets':
          if (!YAML.isSeq(v)) fail(v, "'datasets' must be a list");
          dsNodes.push(...(v as import('yaml').YAMLSeq).items);
          break;
        default:
          fail(pair.key, `unknown key '${k}' in a group`, 'a group has name, interval, volumes and datasets');
      }
    }
    if (name === null) return fail(g, "a group needs a 'name'");
    if (vols === null || vols.length === 0) return fail(volsNode ?? g, `group '${name}' needs 'volumes'`);
    const datasets: GroupDef['datasets'] = [];
    for (const d of dsNodes) {
      let ds: GroupDef['datasets'][number];
      if (YAML.isScalar(d)) ds = attempt(d, () => parseDataSetSpec(scalar(d, 'a data set')));
      else if (YAML.isMap(d)) {
        const f = (key: string) => {
          const n = (d as import('yaml').YAMLMap).get(key, true);
          if (n === undefined) fail(d, `a data set needs '${key}'`, 'a data set has name, volume and range (START-END), e.g. { name: tables, volume: db, range: 0-128M }');
          return scalar(n, key);
        };
        for (const pair of (d as import('yaml').YAMLMap).items) {
          const k = YAML.isScalar(pair.key) ? String(pair.key.value) : '';
          if (!['name', 'volume', 'range'].includes(k)) fail(pair.key, `unknown key '${k}' in a data set`, 'a data set has name, volume and range');
        }
        ds = attempt(d, () => parseDataSetSpec(`${f('name')}=${f('volume')}:${f('range')}`));
      } else return fail(d, 'a data set must be NAME=VOLUME:START-END or a map');
      if (!vols.includes(ds.volume)) fail(d, `data set '${ds.name}' is on volume '${ds.volume}', which is not in group '${name}'`);
      const size = volumes.get(ds.volume)!;
      if (ds.endByte > size) fail(d, `data set '${ds.name}' ends at byte ${ds.endByte}, past the end of '${ds.volume}' (${size} bytes)`);
      if (datasets.some((x) => x.name === ds.name)) fail(d, `data set '${ds.name}' is defined twice in group '${name}'`);
      datasets.push(ds);
    }
    defs.push({ name, intervalMs, volumes: vols, datasets });
  }
  return defs;
}
