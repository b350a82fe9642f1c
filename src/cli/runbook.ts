/**
 * Runbooks: a YAML document of rcopy steps. This module reads one, checks it against the schema
 * below and reports the first problem as `FILE:LINE: message` (ERR_RCOPY_RUNBOOK, exit 2). It
 * never runs anything; runbook-exec.ts does.
 *
 *   name: text                              optional
 *   description: text                       optional
 *   vars: { key: scalar, ... }              defaults; `--var key=value` overrides or adds
 *   steps:                                  at least one
 *     - name: text                          optional (default: the command)
 *       run: "pair split A:v1" | [pair, split, A:v1]    an rcopy command (a leading `rcopy` is dropped)
 *       wait: { pair: A:v1 | group: G, state: PAIR, timeout: 5m, drained: true }   `rcopy pair wait` after `run`
 *       expect: N | { exit: N, json: { path.to.field: value | { gte: n, ... } } }
 *       save: { var: json.path }            keep a JSON field of the result for later steps
 *       timeout: 10m                        kill the step after this long (exit 5)
 *       on-error: stop | continue
 *
 * A step has `run`, `wait` or both. `${name}` is replaced by a variable inside one word (it never
 * splits a word); `$${` is a literal `${`. Built-in variables: runbook_dir, home. Every variable a
 * step uses must be defined by then (vars, --var, a built-in or an earlier step's `save`).
 * Substitution is one pass over the word (a value is never expanded again), so its cost is the
 * length of the word it makes.
 *
 * Limits (LIMITS; samples/README.md lists them): the file is at most 1 MiB, with at most 1,000 steps
 * and 1,000 variables of at most 64 KiB each; a word after substitution is at most 128 KiB (what
 * Linux passes as one argument); runbooks that run runbooks nest at most 8 deep. Duplicate keys
 * are found here with a Set, not by the YAML parser (whose check is quadratic: 50,000 vars took
 * over a minute).
 */
import path from 'node:path';
import { E, type RcopyError } from '../errors.js';
import { parseDuration } from '../units.js';

export const LIMITS = {
  /** Bytes of the runbook file. */
  bytes: 1 << 20,
  steps: 1000,
  /** Variables from vars:, --var and save: together (built-ins not counted). */
  vars: 1000,
  /** Bytes of one variable's value. */
  varBytes: 64 * 1024,
  /** Characters of one word of a command after substitution (Linux's MAX_ARG_STRLEN is 128 KiB). */
  word: 128 * 1024,
  /** Runbooks running runbooks (`run: run other.yaml`), counting the outermost. */
  nesting: 8,
  /** Brackets ([ and {) open at once, and characters of indentation (spaces, tabs, `- `) of a line. */
  depth: 64,
  indent: 256,
};

/**
 * Refuses text nested deeper than LIMITS.depth brackets or indented more than LIMITS.indent
 * characters, before YAML sees it: its parser recurses on nesting (5,000 balanced brackets ran it
 * out of memory and killed the process). Brackets inside quotes count too: a runbook is never near.
 */
function checkShape(text: string, file: string): void {
  let depth = 0;
  let line = 1;
  let indent = 0;
  let atStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      atStart = true;
      indent = 0;
      continue;
    }
    if (atStart) {
      if (c === 32 || c === 9 || c === 45) {
        if (++indent > LIMITS.indent) throw runbookError(`${file}:${line}: indented more than ${LIMITS.indent} characters`, 'a runbook is a few levels deep');
        continue;
      }
      atStart = false;
    }
    if (c === 91 || c === 123) {
      if (++depth > LIMITS.depth) throw runbookError(`${file}:${line}: brackets nested more than ${LIMITS.depth} deep`, 'a runbook is a few levels deep');
    } else if ((c === 93 || c === 125) && depth > 0) depth--;
  }
}

export type Scalar = string | number | boolean | null;
export type CheckOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'exists' | 'matches';
export const CHECK_OPS: CheckOp[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'exists', 'matches'];

export interface JsonCheck {
  /** Field path: dot-separated, numbers index arrays (`pairs.0.state`, `pairs[0].state`). */
  path: string;
  op: CheckOp;
  value: Scalar;
  line: number;
}

export interface Step {
  /** 1-based position in `steps`. */
  index: number;
  line: number;
  name: string;
  /** The name came from `name:`; otherwise it is the command, shown with its variables filled in. */
  named: boolean;
  /** Words of the rcopy command, before variable substitution. */
  run?: string[];
  wait?: { pair?: string; group?: string; state: string; timeout?: string; drained?: boolean };
  expect?: { exit?: number; json: JsonCheck[] };
  save: Array<{ name: string; path: string }>;
  timeoutMs?: number;
  onError: 'stop' | 'continue';
}

export interface Runbook {
  file: string;
  name: string;
  description?: string;
  vars: Record<string, string>;
  steps: Step[];
}

export function runbookError(message: string, hint?: string): RcopyError {
  return E.runbook(message, hint);
}

const TOP_KEYS = ['name', 'description', 'vars', 'steps'];
const STEP_KEYS = ['name', 'run', 'wait', 'expect', 'save', 'timeout', 'on-error'];
const WAIT_KEYS = ['pair', 'group', 'state', 'timeout', 'drained'];
const EXPECT_KEYS = ['exit', 'json'];
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const BUILTIN_VARS = ['runbook_dir', 'home'];

interface Problem {
  line: number;
  message: string;
}

/**
 * Parses and validates a runbook. `cliVars` are the --var values (they override `vars:`).
 * Throws ERR_RCOPY_RUNBOOK naming the file and line of the first problem.
 */
export async function parseRunbook(text: string, file: string, cliVars: Record<string, string> = {}, home = ''): Promise<Runbook> {
  const size = Buffer.byteLength(text);
  if (size > LIMITS.bytes) throw runbookError(`${file}: ${size} bytes, more than a runbook may have (${LIMITS.bytes} bytes, 1 MiB)`, 'split it into several runbooks');
  checkShape(text, file);
  const YAML = await import('yaml');
  const lc = new YAML.LineCounter();
  // uniqueKeys is checked by entries() below: the parser's own check is quadratic in the keys of a map
  const doc = YAML.parseDocument(text, { lineCounter: lc, keepSourceTokens: true, prettyErrors: true, uniqueKeys: false });
  const fail = (ps: Problem[]): never => {
    const sorted = [...ps].sort((a, b) => a.line - b.line);
    const first = sorted[0]!;
    const more = sorted.length > 1 ? `${sorted.length - 1} more problem(s) after this one: ${sorted.slice(1, 4).map((p) => `line ${p.line}: ${p.message}`).join('; ')}${sorted.length > 4 ? '; ...' : ''}` : 'fix it and check again with rcopy run --dry-run';
    throw runbookError(`${file}:${first.line}: ${first.message}`, more);
  };
  if (doc.errors.length > 0) {
    fail(doc.errors.map((e) => ({ line: e.linePos?.[0].line ?? 1, message: `invalid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` })));
  }
  const problems: Problem[] = [];
  const lineOf = (node: unknown): number => {
    const r = (node as { range?: [number, number, number] } | null)?.range;
    return r ? lc.linePos(r[0]).line : 1;
  };
  const bad = (node: unknown, message: string): void => {
    problems.push({ line: lineOf(node), message });
  };
  const root = doc.contents;
  if (!YAML.isMap(root)) {
    bad(root, 'a runbook is a mapping with a `steps:` list (e.g. steps: [{run: array list}])');
    return fail(problems);
  }

  /** The key/value pairs of a map node, reporting unknown and non-scalar keys. */
  const entries = (map: InstanceType<typeof YAML.YAMLMap>, allowed: string[] | null, where: string): Array<[string, unknown, unknown]> => {
    const out: Array<[string, unknown, unknown]> = [];
    const seen = new Set<unknown>();
    for (const item of map.items) {
      const k = item.key;
      if (!YAML.isScalar(k) || typeof k.value !== 'string' && typeof k.value !== 'number') {
        bad(k ?? map, `${where}: keys must be plain words`);
        continue;
      }
      if (seen.has(k.value)) {
        bad(k, 'invalid YAML: Map keys must be unique');
        continue;
      }
      seen.add(k.value);
      const key = String(k.value);
      if (allowed && !allowed.includes(key)) {
        const near = closest(key, allowed);
        bad(k, `${where}: unknown key '${key}'${near ? ` (did you mean '${near}'?)` : ''}; allowed: ${allowed.join(', ')}`);
        continue;
      }
      out.push([key, item.value, k]);
    }
    return out;
  };
  const scalar = (node: unknown, what: string): Scalar | undefined => {
    if (YAML.isScalar(node)) {
      const v = node.value;
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    }
    bad(node, `${what} must be a single value, not ${describe(YAML, node)}`);
    return undefined;
  };
  const str = (node: unknown, what: string): string | undefined => {
    const v = scalar(node, what);
    if (v === undefined) return undefined;
    if (v === null || v === '') {
      bad(node, `${what} is empty`);
      return undefined;
    }
    return String(v);
  };
  const duration = (node: unknown, what: string): { text: string; ms: number } | undefined => {
    const t = str(node, what);
    if (t === undefined) return undefined;
    if (t.includes('${')) return { text: t, ms: NaN };
    try {
      return { text: t, ms: parseDuration(t) };
    } catch {
      bad(node, `${what}: invalid duration '${t}' (use 500ms, 30s, 5m, 1h)`);
      return undefined;
    }
  };

  const rb: Runbook = { file, name: path.basename(file), vars: {}, steps: [] };
  let stepsNode: unknown;
  for (const [key, value] of entries(root, TOP_KEYS, 'runbook')) {
    if (key === 'name') rb.name = str(value, 'name') ?? rb.name;
    else if (key === 'description') rb.description = str(value, 'description');
    else if (key === 'steps') stepsNode = value;
    else if (key === 'vars') {
      if (value === null || (YAML.isScalar(value) && value.value === null)) continue;
      if (!YAML.isMap(value)) {
        bad(value, 'vars must be a mapping of name: value');
        continue;
      }
      if (value.items.length > LIMITS.vars) {
        bad(value, `vars: ${value.items.length} variables, more than a runbook may have (${LIMITS.vars})`);
        continue;
      }
      for (const [name, v, k] of entries(value, null, 'vars')) {
        if (!VAR_NAME.test(name)) bad(k, `vars: invalid variable name '${name}' (letters, digits and _)`);
        else if (BUILTIN_VARS.includes(name)) bad(k, `vars: '${name}' is built in and cannot be set`);
        const s = scalar(v, `vars.${name}`);
        if (s === undefined) continue;
        const text = s === null ? '' : String(s);
        if (text.length > LIMITS.varBytes) bad(v, `vars.${name}: a value of ${text.length} characters, more than ${LIMITS.varBytes}`);
        else rb.vars[name] = text;
      }
    }
  }
  for (const [k, v] of Object.entries(cliVars)) {
    if (!VAR_NAME.test(k)) throw runbookError(`--var: invalid variable name '${k.length > 64 ? `${k.slice(0, 64)}...` : k}'`, 'use --var name=value with letters, digits and _');
    if (BUILTIN_VARS.includes(k)) throw runbookError(`--var: '${k}' is built in and cannot be set`);
    if (v.length > LIMITS.varBytes) throw runbookError(`--var ${k}: a value of ${v.length} characters, more than ${LIMITS.varBytes}`);
    rb.vars[k] = v;
  }
  if (Object.keys(rb.vars).length > LIMITS.vars) throw runbookError(`${file}: ${Object.keys(rb.vars).length} variables with --var, more than a runbook may have (${LIMITS.vars})`);
  if (stepsNode === undefined) bad(root, 'the runbook has no `steps:` list');
  else if (!YAML.isSeq(stepsNode) || stepsNode.items.length === 0) bad(stepsNode, '`steps:` must be a non-empty list of steps');
  else if (stepsNode.items.length > LIMITS.steps) {
    bad(stepsNode, `${stepsNode.items.length} steps, more than a runbook may have (${LIMITS.steps})`);
    return fail(problems);
  }
  const known = new Set([...Object.keys(rb.vars), ...BUILTIN_VARS]);

  /** Reports every ${name} in `s` that is not defined yet. */
  const usesKnown = (node: unknown, s: string, where: string): void => {
    for (const ref of references(s)) {
      const shown = ref.length > 64 ? `${ref.slice(0, 64)}...` : ref;
      if (!VAR_NAME.test(ref)) bad(node, `${where}: invalid variable reference '\${${shown}}'`);
      else if (!known.has(ref)) {
        const near = closest(ref, [...known]);
        bad(node, `${where}: unknown variable '\${${shown}}'${near ? ` (did you mean '${near}'?)` : ''}; define it under vars: or with --var ${shown}=VALUE`);
      }
    }
  };

  if (YAML.isSeq(stepsNode)) {
    stepsNode.items.forEach((node, i) => {
      const where = `step ${i + 1}`;
      if (!YAML.isMap(node)) {
        bad(node, `${where}: a step is a mapping with run: (and optionally name:, wait:, expect:, on-error:), not ${describe(YAML, node)}`);
        return;
      }
      const step: Step = { index: i + 1, line: lineOf(node), name: '', named: false, save: [], onError: 'stop' };
      let hasRun = false;
      for (const [key, value] of entries(node, STEP_KEYS, where)) {
        hasRun ||= key === 'run';
        if (key === 'name') step.name = str(value, `${where}: name`) ?? '';
        else if (key === 'run') {
          let words: string[] | undefined;
          if (YAML.isSeq(value)) {
            words = [];
            for (const w of value.items) {
              const s = scalar(w, `${where}: each word of run`);
              if (s !== undefined && s !== null) words.push(String(s));
            }
          } else {
            const s = str(value, `${where}: run`);
            if (s !== undefined) {
              try {
                words = splitWords(s);
              } catch (e) {
                bad(value, `${where}: run: ${(e as Error).message}`);
              }
            }
          }
          if (words && words[0] === 'rcopy') words = words.slice(1);
          if (words && words.length === 0) bad(value, `${where}: run is empty`);
          else if (words) {
            for (const w of words) usesKnown(value, w, `${where}: run`);
            step.run = words;
          }
        } else if (key === 'wait') {
          if (!YAML.isMap(value)) {
            bad(value, `${where}: wait must be a mapping like { pair: A:vol1, state: PAIR, timeout: 5m }`);
            continue;
          }
          const w: Partial<NonNullable<Step['wait']>> = {};
          for (const [wk, wv] of entries(value, WAIT_KEYS, `${where}: wait`)) {
            if (wk === 'timeout') w.timeout = duration(wv, `${where}: wait.timeout`)?.text;
            else if (wk === 'drained') {
              const b = scalar(wv, `${where}: wait.drained`);
              if (typeof b === 'boolean') w.drained = b;
              else if (b !== undefined) bad(wv, `${where}: wait.drained is true or false`);
            } else {
              const s = str(wv, `${where}: wait.${wk}`);
              if (s !== undefined) {
                usesKnown(wv, s, `${where}: wait.${wk}`);
                w[wk as 'pair' | 'group' | 'state'] = s;
              }
            }
          }
          if (w.pair === undefined && w.group === undefined) bad(value, `${where}: wait needs pair: (a volume of the pair) or group:`);
          else if (w.pair !== undefined && w.group !== undefined) bad(value, `${where}: wait takes pair: or group:, not both`);
          if (w.state === undefined) bad(value, `${where}: wait needs state: (e.g. PAIR)`);
          else step.wait = w as NonNullable<Step['wait']>;
        } else if (key === 'expect') {
          step.expect = { json: [] };
          if (YAML.isScalar(value) && typeof value.value === 'number') {
            step.expect.exit = exitCode(value, value.value, `${where}: expect`, bad);
            continue;
          }
          if (!YAML.isMap(value)) {
            bad(value, `${where}: expect must be an exit code or a mapping with exit: and/or json:`);
            continue;
          }
          for (const [ek, ev] of entries(value, EXPECT_KEYS, `${where}: expect`)) {
            if (ek === 'exit') {
              const s = scalar(ev, `${where}: expect.exit`);
              if (s !== undefined) step.expect.exit = exitCode(ev, s, `${where}: expect.exit`, bad);
            } else if (!YAML.isMap(ev)) {
              bad(ev, `${where}: expect.json must be a mapping of field.path: value`);
            } else {
              for (const [field, fv, fk] of entries(ev, null, `${where}: expect.json`)) {
                const line = lineOf(fk);
                if (YAML.isMap(fv)) {
                  for (const [op, ov] of entries(fv, CHECK_OPS, `${where}: expect.json.${field}`)) {
                    const s = scalar(ov, `${where}: expect.json.${field}.${op}`);
                    if (s === undefined) continue;
                    if (['gt', 'gte', 'lt', 'lte'].includes(op) && typeof s !== 'number') bad(ov, `${where}: expect.json.${field}.${op} needs a number`);
                    if (op === 'matches') {
                      try {
                        new RegExp(String(s));
                      } catch {
                        bad(ov, `${where}: expect.json.${field}.matches: invalid regular expression`);
                      }
                    }
                    if (typeof s === 'string') usesKnown(ov, s, `${where}: expect.json.${field}`);
                    step.expect.json.push({ path: field, op: op as CheckOp, value: s, line: lineOf(ov) });
                  }
                } else {
                  const s = scalar(fv, `${where}: expect.json.${field}`);
                  if (s === undefined) continue;
                  if (typeof s === 'string') usesKnown(fv, s, `${where}: expect.json.${field}`);
                  step.expect.json.push({ path: field, op: 'eq', value: s, line });
                }
              }
            }
          }
        } else if (key === 'save') {
          if (!YAML.isMap(value)) {
            bad(value, `${where}: save must be a mapping of variable: json.path`);
            continue;
          }
          for (const [name, pv, nk] of entries(value, null, `${where}: save`)) {
            if (!VAR_NAME.test(name)) bad(nk, `${where}: save: invalid variable name '${name}'`);
            else if (BUILTIN_VARS.includes(name)) bad(nk, `${where}: save: '${name}' is built in`);
            const p = str(pv, `${where}: save.${name}`);
            if (p !== undefined) step.save.push({ name, path: p });
          }
        } else if (key === 'timeout') {
          const d = duration(value, `${where}: timeout`);
          if (d) step.timeoutMs = d.ms;
        } else if (key === 'on-error') {
          const s = str(value, `${where}: on-error`);
          if (s === 'stop' || s === 'continue') step.onError = s;
          else if (s !== undefined) bad(value, `${where}: on-error must be stop or continue, not '${s}'`);
        }
      }
      if (!hasRun && !step.wait) bad(node, `${where}: a step needs run: (an rcopy command) or wait:`);
      if ((step.expect?.json.length || step.save.length) && !step.run) bad(node, `${where}: expect.json and save need run:`);
      for (const s of step.save) known.add(s.name);
      if (known.size - BUILTIN_VARS.length > LIMITS.vars) bad(node, `${where}: save: more than ${LIMITS.vars} variables in all`);
      step.named = step.name !== '';
      if (!step.name) step.name = step.run ? step.run.join(' ') : `wait for ${step.wait?.pair ?? `group ${step.wait?.group}`} ${step.wait?.state}`;
      rb.steps.push(step);
    });
  }
  if (problems.length > 0) fail(problems);
  rb.vars.runbook_dir = path.dirname(path.resolve(file));
  rb.vars.home = home;
  return rb;
}

function exitCode(node: unknown, v: Scalar, where: string, bad: (n: unknown, m: string) => void): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) return v;
  bad(node, `${where}: an exit code is a whole number from 0 to 255`);
  return undefined;
}

function describe(YAML: typeof import('yaml'), node: unknown): string {
  if (YAML.isMap(node)) return 'a mapping';
  if (YAML.isSeq(node)) return 'a list';
  if (YAML.isScalar(node)) return node.value === null ? 'empty' : `'${String(node.value)}'`;
  return 'empty';
}

/**
 * The word `s` with each `${name}` replaced by fill(name, '${name}'); `$${...}` stays as a literal
 * `${...}`. One scan with indexOf (a regex with `[^}]*` rescans to the end from every `${` that has
 * no `}`: quadratic in a long word).
 */
export function expand(s: string, fill: (name: string, ref: string) => string): string {
  let out = '';
  let pos = 0;
  for (;;) {
    const i = s.indexOf('${', pos);
    if (i < 0) break;
    const q = s.indexOf('}', i + 2);
    if (q < 0) break; // no later ${ has a } either
    const esc = i > pos && s[i - 1] === '$';
    out += s.slice(pos, esc ? i - 1 : i);
    out += esc ? s.slice(i, q + 1) : fill(s.slice(i + 2, q), s.slice(i, q + 1));
    pos = q + 1;
  }
  return pos === 0 ? s : out + s.slice(pos);
}

/** The variable names referenced as ${name} in s (not the escaped $${...}). */
export function references(s: string): string[] {
  const out: string[] = [];
  expand(s, (name, ref) => {
    out.push(name);
    return ref;
  });
  return out;
}

/**
 * Replaces ${name} with its value; `$${` stays a literal `${`. One pass: a value is not expanded
 * again. Throws ERR_RCOPY_RUNBOOK when the word grows past LIMITS.word.
 */
export function substitute(s: string, vars: Record<string, string>): string {
  let size = s.length;
  return expand(s, (name) => {
    const v = vars[name];
    if (v === undefined) throw runbookError(`unknown variable '\${${name.length > 64 ? `${name.slice(0, 64)}...` : name}}'`);
    size += v.length;
    if (size > LIMITS.word) throw wordTooLong(s);
    return v;
  });
}

export function wordTooLong(word: string): RcopyError {
  return runbookError(`'${word.length > 60 ? `${word.slice(0, 60)}...` : word}' is longer than ${LIMITS.word} characters once its variables are filled in`, 'a command word is at most 128 KiB');
}

/** Splits a command string into words: whitespace separates, '...' and "..." quote, \ escapes. */
export function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length && '"\\'.includes(s[i + 1]!)) cur += s[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote`);
  if (inWord) words.push(cur);
  return words;
}

/** A command line for display, quoting words that need it. */
export function showCommand(words: string[]): string {
  return ['rcopy', ...words].map((w) => (/^[A-Za-z0-9_@%+=:,./${}-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The closest of `options` to `word`, if it is a likely typo (a swap, or a few letters off). */
export function closest(word: string, options: string[]): string | undefined {
  if (word.length > 64) return undefined; // no name is that long: nothing is near
  let best: string | undefined;
  let bestD = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const o of options) {
    if (Math.abs(o.length - word.length) >= bestD) continue; // at least that many edits
    const d = editDistance(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) {
      best = o;
      bestD = d;
    }
  }
  return best;
}

/** Edit distance counting an exchange of two neighbouring letters as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
