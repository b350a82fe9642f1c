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
import { E, RcopyError } from '../../errors.js';
import { checkName, parseDuration, parseSize } from '../../units.js';
import type { GroupDef } from './store.js';

export const DEFAULT_INTERVAL_MS = 60_000;

export function configError(file: string, line: number | null, message: string, hint?: string): RcopyError {
  return E.config(`${file}${line ? `:${line}` : ''}: ${message}`, hint ?? 'see samples/stats-config.yaml for the layout');
}

/** Parses NAME=VOL:START-END (sizes with units) into a data set. */
export function parseDataSetSpec(spec: string): { name: string; volume: string; startByte: number; endByte: number } {
  const m = /^([^=]+)=([^:]+):([^-]+)-(.+)$/.exec(String(spec).trim());
  if (!m) throw E.badInput(`invalid data set '${spec}'`, 'use NAME=VOLUME:START-END, e.g. tables=db:0-128M');
  const d = { name: checkName('data set', m[1]!), volume: checkName('volume', m[2]!), startByte: parseSize(m[3]!), endByte: parseSize(m[4]!) };
  if (!(d.endByte > d.startByte)) throw E.badInput(`data set '${d.name}': the range ${m[3]}-${m[4]} is empty`, 'END must be after START');
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
  const r = new ConfigReader(YAML, lc, file, volumes);
  const defs: GroupDef[] = [];
  const seen = new Map<string, number | null>();
  for (const g of r.groupList(doc.contents).items) defs.push(r.group(g, seen));
  return defs;
}

type Yaml = typeof import('yaml');
type YamlMap = import('yaml').YAMLMap;
type YamlSeq = import('yaml').YAMLSeq;
type DataSet = GroupDef['datasets'][number];

/** Reads the nodes of one config file; every problem is a configError naming the node's line. */
class ConfigReader {
  constructor(
    private readonly YAML: Yaml,
    private readonly lc: import('yaml').LineCounter,
    private readonly file: string,
    private readonly volumes: Map<string, number>,
  ) {}

  lineOf(n: unknown): number | null {
    const r = (n as { range?: [number, number, number] | null } | null | undefined)?.range;
    return r ? this.lc.linePos(r[0]).line : null;
  }

  fail(n: unknown, msg: string, hint?: string): never {
    throw configError(this.file, this.lineOf(n), msg, hint);
  }

  scalar(n: unknown, what: string): string {
    if (!this.YAML.isScalar(n) || n.value === null || typeof n.value === 'object') this.fail(n, `${what} must be a single value`);
    return String((n as { value: unknown }).value).trim();
  }

  /** f(), with an RcopyError it throws turned into a configError at n's line. */
  attempt<T>(n: unknown, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof RcopyError && e.code !== 'ERR_RCOPY_CONFIG') return this.fail(n, e.message, e.hint);
      throw e;
    }
  }

  private key(pair: { key: unknown }): string {
    return this.YAML.isScalar(pair.key) ? String(pair.key.value) : '';
  }

  /** The list of groups: the document itself, or its one key `groups`. */
  groupList(contents: unknown): YamlSeq {
    const YAML = this.YAML;
    let groupsNode: unknown = contents;
    if (YAML.isMap(contents)) {
      for (const pair of contents.items) {
        const k = this.key(pair);
        if (k !== 'groups') this.fail(pair.key, `unknown key '${k}'`, "the file has one key, 'groups', a list of groups");
      }
      groupsNode = contents.get('groups', true);
      if (groupsNode === undefined) this.fail(contents, "missing 'groups'");
    }
    if (!YAML.isSeq(groupsNode) || groupsNode.items.length === 0) return this.fail(groupsNode ?? contents, "'groups' must be a non-empty list of groups");
    return groupsNode;
  }

  /** One group; `seen` holds the line of every group name read before. */
  group(g: unknown, seen: Map<string, number | null>): GroupDef {
    const YAML = this.YAML;
    if (!YAML.isMap(g)) this.fail(g, 'each group must be a map with name, volumes, and optionally interval and datasets');
    const gm = g as YamlMap;
    let name: string | null = null;
    let intervalMs = DEFAULT_INTERVAL_MS;
    let vols: string[] | null = null;
    let volsNode: unknown = null;
    const dsNodes: unknown[] = [];
    for (const pair of gm.items) {
      const k = this.key(pair);
      const v = pair.value;
      switch (k) {
        case 'name':
          name = this.attempt(v, () => checkName('group', this.scalar(v, 'name')));
          if (seen.has(name)) this.fail(v, `group '${name}' is defined twice (first at line ${seen.get(name)})`);
          seen.set(name, this.lineOf(v));
          break;
        case 'interval':
          intervalMs = this.attempt(v, () => parseDuration(this.scalar(v, 'interval')));
          if (!(intervalMs >= 100)) this.fail(v, `interval must be at least 100ms`);
          break;
        case 'volumes':
          volsNode = v;
          vols = this.volumeList(v);
          break;
        case 'datasets':
          if (!YAML.isSeq(v)) this.fail(v, "'datasets' must be a list");
          dsNodes.push(...(v as YamlSeq).items);
          break;
        default:
          this.fail(pair.key, `unknown key '${k}' in a group`, 'a group has name, interval, volumes and datasets');
      }
    }
    if (name === null) return this.fail(g, "a group needs a 'name'");
    if (vols === null || vols.length === 0) return this.fail(volsNode ?? g, `group '${name}' needs 'volumes'`);
    const datasets: GroupDef['datasets'] = [];
    for (const d of dsNodes) {
      const ds = this.dataset(d);
      if (!vols.includes(ds.volume)) this.fail(d, `data set '${ds.name}' is on volume '${ds.volume}', which is not in group '${name}'`);
      const size = this.volumes.get(ds.volume)!;
      if (ds.endByte > size) this.fail(d, `data set '${ds.name}' ends at byte ${ds.endByte}, past the end of '${ds.volume}' (${size} bytes)`);
      if (datasets.some((x) => x.name === ds.name)) this.fail(d, `data set '${ds.name}' is defined twice in group '${name}'`);
      datasets.push(ds);
    }
    return { name, intervalMs, volumes: vols, datasets };
  }

  /** A group's volumes: a list, or names separated by commas; each a volume of the array, once. */
  private volumeList(v: unknown): string[] {
    const volumes = this.volumes;
    const items: unknown[] = this.YAML.isSeq(v) ? v.items : [v];
    const vols: string[] = [];
    for (const it of items) {
      for (const vname of this.scalar(it, 'a volume name')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        this.attempt(it, () => checkName('volume', vname));
        if (!volumes.has(vname)) this.fail(it, `the array has no volume '${vname}'`, `its volumes: ${[...volumes.keys()].join(', ') || 'none'}`);
        if (!vols.includes(vname)) vols.push(vname);
      }
    }
    return vols;
  }

  /** A data set: NAME=VOLUME:START-END, or a map of name, volume and range. */
  private dataset(d: unknown): DataSet {
    const YAML = this.YAML;
    if (YAML.isScalar(d)) return this.attempt(d, () => parseDataSetSpec(this.scalar(d, 'a data set')));
    if (!YAML.isMap(d)) return this.fail(d, 'a data set must be NAME=VOLUME:START-END or a map');
    const f = (key: string) => {
      const n = (d as YamlMap).get(key, true);
      if (n === undefined) this.fail(d, `a data set needs '${key}'`, 'a data set has name, volume and range (START-END), e.g. { name: tables, volume: db, range: 0-128M }');
      return this.scalar(n, key);
    };
    for (const pair of (d as YamlMap).items) {
      const k = this.key(pair);
      if (!['name', 'volume', 'range'].includes(k)) this.fail(pair.key, `unknown key '${k}' in a data set`, 'a data set has name, volume and range');
    }
    return this.attempt(d, () => parseDataSetSpec(`${f('name')}=${f('volume')}:${f('range')}`));
  }
}
