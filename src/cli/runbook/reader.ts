/**
 * Reading a runbook's YAML nodes: each read that finds a problem records it with its line and
 * carries on, so that one run reports every problem; fail() throws the first of them (by line),
 * naming how many more there are.
 */
import type { LineCounter, YAMLMap } from 'yaml';
import { parseDuration } from '../../units.js';
import { VAR_NAME, runbookError, type Scalar } from './model.js';
import { closest, references } from './words.js';

type Yaml = typeof import('yaml');

interface Problem {
  line: number;
  message: string;
}

export class RunbookReader {
  readonly problems: Problem[] = [];

  constructor(
    readonly YAML: Yaml,
    private readonly lc: LineCounter,
    private readonly file: string,
  ) {}

  lineOf(node: unknown): number {
    const r = (node as { range?: [number, number, number] } | null)?.range;
    return r ? this.lc.linePos(r[0]).line : 1;
  }

  bad(node: unknown, message: string): void {
    this.problems.push({ line: this.lineOf(node), message });
  }

  /** Throws the first of `ps` (by line) as ERR_RCOPY_RUNBOOK; the hint names the next few. */
  fail(ps: Problem[] = this.problems): never {
    const sorted = [...ps].sort((a, b) => a.line - b.line);
    const first = sorted[0]!;
    const more =
      sorted.length > 1
        ? `${sorted.length - 1} more problem(s) after this one: ${sorted
            .slice(1, 4)
            .map((p) => `line ${p.line}: ${p.message}`)
            .join('; ')}${sorted.length > 4 ? '; ...' : ''}`
        : 'fix it and check again with rcopy run --dry-run';
    throw runbookError(`${this.file}:${first.line}: ${first.message}`, more);
  }

  /** The key/value pairs of a map node, reporting unknown, repeated and non-scalar keys. */
  entries(map: YAMLMap, allowed: readonly string[] | null, where: string): Array<[string, unknown, unknown]> {
    const { YAML } = this;
    const out: Array<[string, unknown, unknown]> = [];
    const seen = new Set<unknown>();
    for (const item of map.items) {
      const k = item.key;
      if (!YAML.isScalar(k) || (typeof k.value !== 'string' && typeof k.value !== 'number')) {
        this.bad(k ?? map, `${where}: keys must be plain words`);
        continue;
      }
      if (seen.has(k.value)) {
        this.bad(k, 'invalid YAML: Map keys must be unique');
        continue;
      }
      seen.add(k.value);
      const key = String(k.value);
      if (allowed && !allowed.includes(key)) {
        const near = closest(key, [...allowed]);
        this.bad(k, `${where}: unknown key '${key}'${near ? ` (did you mean '${near}'?)` : ''}; allowed: ${allowed.join(', ')}`);
        continue;
      }
      out.push([key, item.value, k]);
    }
    return out;
  }

  scalar(node: unknown, what: string): Scalar | undefined {
    if (this.YAML.isScalar(node)) {
      const v = node.value;
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    }
    this.bad(node, `${what} must be a single value, not ${this.describe(node)}`);
    return undefined;
  }

  str(node: unknown, what: string): string | undefined {
    const v = this.scalar(node, what);
    if (v === undefined) return undefined;
    if (v === null || v === '') {
      this.bad(node, `${what} is empty`);
      return undefined;
    }
    return String(v);
  }

  duration(node: unknown, what: string): { text: string; ms: number } | undefined {
    const t = this.str(node, what);
    if (t === undefined) return undefined;
    if (t.includes('${')) return { text: t, ms: NaN };
    try {
      return { text: t, ms: parseDuration(t) };
    } catch {
      this.bad(node, `${what}: invalid duration '${t}' (use 500ms, 30s, 5m, 1h)`);
      return undefined;
    }
  }

  /** Reports every ${name} in `s` that is not among the variables `known` so far. */
  usesKnown(known: ReadonlySet<string>, node: unknown, s: string, where: string): void {
    for (const ref of references(s)) {
      const shown = ref.length > 64 ? `${ref.slice(0, 64)}...` : ref;
      if (!VAR_NAME.test(ref)) this.bad(node, `${where}: invalid variable reference '\${${shown}}'`);
      else if (!known.has(ref)) {
        const near = closest(ref, [...known]);
        this.bad(node, `${where}: unknown variable '\${${shown}}'${near ? ` (did you mean '${near}'?)` : ''}; define it under vars: or with --var ${shown}=VALUE`);
      }
    }
  }

  describe(node: unknown): string {
    const { YAML } = this;
    if (YAML.isMap(node)) return 'a mapping';
    if (YAML.isSeq(node)) return 'a list';
    if (YAML.isScalar(node)) return node.value === null ? 'empty' : `'${String(node.value)}'`;
    return 'empty';
  }
}
