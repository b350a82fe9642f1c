/**
 * Reading a runbook: checks a YAML document against the schema of model.ts and reports the first
 * problem as `FILE:LINE: message` (ERR_RCOPY_RUNBOOK, exit 2), with the count of the others.
 * It never runs anything; exec.ts does.
 */
import path from 'node:path';
import type { YAMLMap } from 'yaml';
import { BUILTIN_VARS, CHECK_OPS, LIMITS, VAR_NAME, runbookError, type CheckOp, type Runbook, type Scalar, type Step } from './model.js';
import { RunbookReader } from './reader.js';
import { splitWords } from './words.js';

const TOP_KEYS = ['name', 'description', 'vars', 'steps'];
const STEP_KEYS = ['name', 'run', 'wait', 'expect', 'save', 'timeout', 'on-error'];
const WAIT_KEYS = ['pair', 'group', 'state', 'timeout', 'drained'];
const EXPECT_KEYS = ['exit', 'json'];

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
  const r = new RunbookReader(YAML, lc, file);
  if (doc.errors.length > 0) {
    r.fail(doc.errors.map((e) => ({ line: e.linePos?.[0].line ?? 1, message: `invalid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` })));
  }
  const root = doc.contents;
  if (!YAML.isMap(root)) {
    r.bad(root, 'a runbook is a mapping with a `steps:` list (e.g. steps: [{run: array list}])');
    return r.fail();
  }
  const rb: Runbook = { file, name: path.basename(file), vars: {}, steps: [] };
  let stepsNode: unknown;
  for (const [key, value] of r.entries(root, TOP_KEYS, 'runbook')) {
    if (key === 'name') rb.name = r.str(value, 'name') ?? rb.name;
    else if (key === 'description') rb.description = r.str(value, 'description');
    else if (key === 'steps') stepsNode = value;
    else if (key === 'vars') readVars(r, value, rb.vars);
  }
  addCliVars(rb, cliVars);
  if (stepsNode === undefined) r.bad(root, 'the runbook has no `steps:` list');
  else if (!YAML.isSeq(stepsNode) || stepsNode.items.length === 0) r.bad(stepsNode, '`steps:` must be a non-empty list of steps');
  else if (stepsNode.items.length > LIMITS.steps) {
    r.bad(stepsNode, `${stepsNode.items.length} steps, more than a runbook may have (${LIMITS.steps})`);
    return r.fail();
  }
  const known = new Set([...Object.keys(rb.vars), ...BUILTIN_VARS]);
  if (YAML.isSeq(stepsNode)) {
    stepsNode.items.forEach((node, i) => {
      const step = readStep(r, node, i, known);
      if (step) rb.steps.push(step);
    });
  }
  if (r.problems.length > 0) r.fail();
  rb.vars.runbook_dir = path.dirname(path.resolve(file));
  rb.vars.home = home;
  return rb;
}

/** `vars:`: a mapping of name: scalar, into `vars`. */
function readVars(r: RunbookReader, value: unknown, vars: Record<string, string>): void {
  const { YAML } = r;
  if (value === null || (YAML.isScalar(value) && value.value === null)) return;
  if (!YAML.isMap(value)) {
    r.bad(value, 'vars must be a mapping of name: value');
    return;
  }
  if (value.items.length > LIMITS.vars) {
    r.bad(value, `vars: ${value.items.length} variables, more than a runbook may have (${LIMITS.vars})`);
    return;
  }
  for (const [name, v, k] of r.entries(value, null, 'vars')) {
    if (!VAR_NAME.test(name)) r.bad(k, `vars: invalid variable name '${name}' (letters, digits and _)`);
    else if (BUILTIN_VARS.includes(name)) r.bad(k, `vars: '${name}' is built in and cannot be set`);
    const s = r.scalar(v, `vars.${name}`);
    if (s === undefined) continue;
    const text = s === null ? '' : String(s);
    if (text.length > LIMITS.varBytes) r.bad(v, `vars.${name}: a value of ${text.length} characters, more than ${LIMITS.varBytes}`);
    else vars[name] = text;
  }
}

/** The --var values: they override `vars:`; a bad one is an error of its own (not of a line). */
function addCliVars(rb: Runbook, cliVars: Record<string, string>): void {
  for (const [k, v] of Object.entries(cliVars)) {
    if (!VAR_NAME.test(k)) throw runbookError(`--var: invalid variable name '${k.length > 64 ? `${k.slice(0, 64)}...` : k}'`, 'use --var name=value with letters, digits and _');
    if (BUILTIN_VARS.includes(k)) throw runbookError(`--var: '${k}' is built in and cannot be set`);
    if (v.length > LIMITS.varBytes) throw runbookError(`--var ${k}: a value of ${v.length} characters, more than ${LIMITS.varBytes}`);
    rb.vars[k] = v;
  }
  if (Object.keys(rb.vars).length > LIMITS.vars) throw runbookError(`${rb.file}: ${Object.keys(rb.vars).length} variables with --var, more than a runbook may have (${LIMITS.vars})`);
}

/** One step (the i-th, from 0); null when it is not a mapping. The names it saves join `known`. */
function readStep(r: RunbookReader, node: unknown, i: number, known: Set<string>): Step | null {
  const { YAML } = r;
  const where = `step ${i + 1}`;
  if (!YAML.isMap(node)) {
    r.bad(node, `${where}: a step is a mapping with run: (and optionally name:, wait:, expect:, on-error:), not ${r.describe(node)}`);
    return null;
  }
  const step: Step = { index: i + 1, line: r.lineOf(node), name: '', named: false, save: [], onError: 'stop' };
  let hasRun = false;
  for (const [key, value] of r.entries(node, STEP_KEYS, where)) {
    hasRun ||= key === 'run';
    if (key === 'name') step.name = r.str(value, `${where}: name`) ?? '';
    else if (key === 'run') {
      const words = readRun(r, value, where, known);
      if (words) step.run = words;
    } else if (key === 'wait') {
      const w = readWait(r, value, where, known);
      if (w) step.wait = w;
    } else if (key === 'expect') step.expect = readExpect(r, value, where, known);
    else if (key === 'save') readSave(r, value, where, step.save);
    else if (key === 'timeout') {
      const d = r.duration(value, `${where}: timeout`);
      if (d) step.timeoutMs = d.ms;
    } else if (key === 'on-error') {
      const s = r.str(value, `${where}: on-error`);
      if (s === 'stop' || s === 'continue') step.onError = s;
      else if (s !== undefined) r.bad(value, `${where}: on-error must be stop or continue, not '${s}'`);
    }
  }
  if (!hasRun && !step.wait) r.bad(node, `${where}: a step needs run: (an rcopy command) or wait:`);
  if ((step.expect?.json.length || step.save.length) && !step.run) r.bad(node, `${where}: expect.json and save need run:`);
  for (const s of step.save) known.add(s.name);
  if (known.size - BUILTIN_VARS.length > LIMITS.vars) r.bad(node, `${where}: save: more than ${LIMITS.vars} variables in all`);
  step.named = step.name !== '';
  if (!step.name) step.name = step.run ? step.run.join(' ') : `wait for ${step.wait?.pair ?? `group ${step.wait?.group}`} ${step.wait?.state}`;
  return step;
}

/** `run:`: a command string or a list of words (a leading `rcopy` is dropped). */
function readRun(r: RunbookReader, value: unknown, where: string, known: ReadonlySet<string>): string[] | undefined {
  let words: string[] | undefined;
  if (r.YAML.isSeq(value)) {
    words = [];
    for (const w of value.items) {
      const s = r.scalar(w, `${where}: each word of run`);
      if (s !== undefined && s !== null) words.push(String(s));
    }
  } else {
    const s = r.str(value, `${where}: run`);
    if (s !== undefined) {
      try {
        words = splitWords(s);
      } catch (e) {
        r.bad(value, `${where}: run: ${(e as Error).message}`);
      }
    }
  }
  if (words && words[0] === 'rcopy') words = words.slice(1);
  if (words && words.length === 0) {
    r.bad(value, `${where}: run is empty`);
    return undefined;
  }
  if (words) for (const w of words) r.usesKnown(known, value, w, `${where}: run`);
  return words;
}

/** `wait:`: { pair: | group:, state:, timeout:, drained: }. */
function readWait(r: RunbookReader, value: unknown, where: string, known: ReadonlySet<string>): Step['wait'] {
  if (!r.YAML.isMap(value)) {
    r.bad(value, `${where}: wait must be a mapping like { pair: A:vol1, state: PAIR, timeout: 5m }`);
    return undefined;
  }
  const w: Partial<NonNullable<Step['wait']>> = {};
  for (const [wk, wv] of r.entries(value, WAIT_KEYS, `${where}: wait`)) {
    if (wk === 'timeout') w.timeout = r.duration(wv, `${where}: wait.timeout`)?.text;
    else if (wk === 'drained') {
      const b = r.scalar(wv, `${where}: wait.drained`);
      if (typeof b === 'boolean') w.drained = b;
      else if (b !== undefined) r.bad(wv, `${where}: wait.drained is true or false`);
    } else {
      const s = r.str(wv, `${where}: wait.${wk}`);
      if (s !== undefined) {
        r.usesKnown(known, wv, s, `${where}: wait.${wk}`);
        w[wk as 'pair' | 'group' | 'state'] = s;
      }
    }
  }
  if (w.pair === undefined && w.group === undefined) r.bad(value, `${where}: wait needs pair: (a volume of the pair) or group:`);
  else if (w.pair !== undefined && w.group !== undefined) r.bad(value, `${where}: wait takes pair: or group:, not both`);
  if (w.state === undefined) {
    r.bad(value, `${where}: wait needs state: (e.g. PAIR)`);
    return undefined;
  }
  return w as NonNullable<Step['wait']>;
}

/** `expect:`: an exit code, or { exit:, json: { field.path: value | { op: value } } }. */
function readExpect(r: RunbookReader, value: unknown, where: string, known: ReadonlySet<string>): NonNullable<Step['expect']> {
  const { YAML } = r;
  const expect: NonNullable<Step['expect']> = { json: [] };
  if (YAML.isScalar(value) && typeof value.value === 'number') {
    expect.exit = exitCode(value, value.value, `${where}: expect`, (n, m) => r.bad(n, m));
    return expect;
  }
  if (!YAML.isMap(value)) {
    r.bad(value, `${where}: expect must be an exit code or a mapping with exit: and/or json:`);
    return expect;
  }
  for (const [ek, ev] of r.entries(value, EXPECT_KEYS, `${where}: expect`)) {
    if (ek === 'exit') {
      const s = r.scalar(ev, `${where}: expect.exit`);
      if (s !== undefined) expect.exit = exitCode(ev, s, `${where}: expect.exit`, (n, m) => r.bad(n, m));
    } else if (!YAML.isMap(ev)) {
      r.bad(ev, `${where}: expect.json must be a mapping of field.path: value`);
    } else readJsonChecks(r, ev, where, known, expect.json);
  }
  return expect;
}

/** `expect.json:`: a value (eq) or a mapping of operator: value per field path. */
function readJsonChecks(r: RunbookReader, map: YAMLMap, where: string, known: ReadonlySet<string>, out: NonNullable<Step['expect']>['json']): void {
  for (const [field, fv, fk] of r.entries(map, null, `${where}: expect.json`)) {
    const line = r.lineOf(fk);
    if (r.YAML.isMap(fv)) {
      for (const [op, ov] of r.entries(fv, CHECK_OPS, `${where}: expect.json.${field}`)) {
        const s = r.scalar(ov, `${where}: expect.json.${field}.${op}`);
        if (s === undefined) continue;
        if (['gt', 'gte', 'lt', 'lte'].includes(op) && typeof s !== 'number') r.bad(ov, `${where}: expect.json.${field}.${op} needs a number`);
        if (op === 'matches') {
          try {
            new RegExp(String(s));
          } catch {
            r.bad(ov, `${where}: expect.json.${field}.matches: invalid regular expression`);
          }
        }
        if (typeof s === 'string') r.usesKnown(known, ov, s, `${where}: expect.json.${field}`);
        out.push({ path: field, op: op as CheckOp, value: s, line: r.lineOf(ov) });
      }
    } else {
      const s = r.scalar(fv, `${where}: expect.json.${field}`);
      if (s === undefined) continue;
      if (typeof s === 'string') r.usesKnown(known, fv, s, `${where}: expect.json.${field}`);
      out.push({ path: field, op: 'eq', value: s, line });
    }
  }
}

/** `save:`: a mapping of variable: json.path. */
function readSave(r: RunbookReader, value: unknown, where: string, save: Step['save']): void {
  if (!r.YAML.isMap(value)) {
    r.bad(value, `${where}: save must be a mapping of variable: json.path`);
    return;
  }
  for (const [name, pv, nk] of r.entries(value, null, `${where}: save`)) {
    if (!VAR_NAME.test(name)) r.bad(nk, `${where}: save: invalid variable name '${name}'`);
    else if (BUILTIN_VARS.includes(name)) r.bad(nk, `${where}: save: '${name}' is built in`);
    const p = r.str(pv, `${where}: save.${name}`);
    if (p !== undefined) save.push({ name, path: p });
  }
}

function exitCode(node: unknown, v: Scalar, where: string, bad: (n: unknown, m: string) => void): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) return v;
  bad(node, `${where}: an exit code is a whole number from 0 to 255`);
  return undefined;
}
