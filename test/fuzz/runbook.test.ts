/**
 * Fuzz target: the runbook parser (src/cli/runbook.ts) and the dry-run check (runbook-exec.ts).
 * The runbooks in samples/ are mutated by a seeded PRNG (mutate.ts: byte flips, truncation, huge
 * numbers, long lines, duplicated lines, YAML indicators, `${` references) and parsed in process.
 * For every input: parseRunbook returns or throws an RcopyError ERR_RCOPY_RUNBOOK (never another
 * exception), within a time bound and with memory kept flat; the words of a parsed runbook fill in
 * their variables within the word limit; one parsed input in five is also checked against the command
 * tree as `rcopy run --dry-run` does. A few thousand inputs in `npm test` (about 15 s at most),
 * 50,000 with RCOPY_SOAK=1. A failure prints the seed that replays it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { RcopyError } from '../../src/errors.js';
import { LIMITS } from '../../src/cli/runbook/model.js';
import { parseRunbook } from '../../src/cli/runbook/parse.js';
import { splitWords, substitute } from '../../src/cli/runbook/words.js';
import { checkRunbook } from '../../src/cli/runbook/exec.js';
import '../../src/cli/program.js'; // the dry-run check parses each step against the program tree it registers
import { ROOT } from '../helpers.js';
import { excerpt, fuzzConfig, inputRng, mutate, pick, type Rand } from './mutate.js';

const SAMPLES = path.join(ROOT, 'samples');

const TOKENS = [
  '${',
  '}',
  '$${',
  '${home}',
  '${runbook_dir}',
  '${nosuch}',
  '${x',
  ': ',
  '- ',
  '-',
  '[',
  ']',
  '{',
  '}',
  ',',
  '"',
  "'",
  '\\',
  '#',
  '|',
  '>',
  '&a ',
  '*a',
  '<<: *a',
  '!!binary ',
  '!!str ',
  '? ',
  '---\n',
  '...\n',
  '\t',
  '\r',
  '\0',
  '\u00e9\u{1F600}',
  '\n  ',
  'run: ',
  'wait: {pair: a:b, state: PAIR, timeout: 99999999d}',
  'expect: {json: {a: {matches: "("}}}',
  'save: {v: x}',
  'on-error: continue',
  'timeout: 2147483648ms',
  'vars: {a: b}',
  'steps:\n',
];

/** Runs fn expecting a result or an ERR_RCOPY_RUNBOOK error; returns the result or null. */
async function parseOrRefuse<T>(fn: () => Promise<T>, where: string): Promise<T | null> {
  try {
    return await fn();
  } catch (e) {
    assert.ok(e instanceof RcopyError, `not an RcopyError: ${(e as Error)?.stack}\n${where}`);
    assert.equal(e.code, 'ERR_RCOPY_RUNBOOK', `${e.code} ${e.message}\n${where}`);
    assert.equal(e.exitCode, 2, where);
    assert.ok(!e.message.includes('\n') && e.message.length < 2000, `not one line: ${e.message.slice(0, 300)}\n${where}`);
    return null;
  }
}

test('fuzz: runbook parser and dry-run check: RcopyError or a runbook, bounded, whatever the bytes', { timeout: 600_000 }, async () => {
  const cfg = fuzzConfig(2000, 50_000);
  const inputs = fs
    .readdirSync(SAMPLES)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => fs.readFileSync(path.join(SAMPLES, f)));
  const rssStart = process.memoryUsage().rss;
  const t0 = Date.now();
  let done = 0,
    parsed = 0,
    checked = 0,
    maxMs = 0;
  for (let i = cfg.only ?? 0; i < (cfg.only !== null ? cfg.only + 1 : cfg.count); i++) {
    if (Date.now() - t0 > cfg.budgetMs) break;
    const r: Rand = inputRng(cfg.seed, i);
    const input = mutate(pick(r, inputs), r, { tokens: TOKENS, others: inputs, longLine: LIMITS.bytes });
    const cliVars: Record<string, string> = r() < 0.2 ? { size: pick(r, ['8M', '', 'x'.repeat(LIMITS.varBytes + 1), '${size}']), [pick(r, ['a', 'b_1', '1bad', 'home'])]: 'v' } : {};
    const where = `seed ${cfg.seed} input ${i} (replay: RCOPY_FUZZ_SEED=${cfg.seed} RCOPY_FUZZ_ONLY=${i}), ${input.length} bytes: ${excerpt(input)}`;
    const s = performance.now();
    const rb = await parseOrRefuse(() => parseRunbook(input.toString('utf8'), 'fuzz.yaml', cliVars, '/home/x'), where);
    if (rb) {
      parsed++;
      assert.ok(rb.steps.length >= 1 && rb.steps.length <= LIMITS.steps, where);
      assert.ok(Object.keys(rb.vars).length <= LIMITS.vars + 2, where);
      for (const step of rb.steps) {
        for (const w of step.run ?? []) {
          // saved variables are only known when the step runs: give every reference a value
          const vars = new Proxy(rb.vars, { get: (t, k: string) => t[k] ?? 'saved' });
          const out = await parseOrRefuse(async () => substitute(w, vars), where);
          if (out !== null) assert.ok(out.length <= LIMITS.word, where);
          splitWords(w.slice(0, 1000));
        }
      }
      if (parsed % 5 === 1) {
        checked++;
        await parseOrRefuse(() => checkRunbook(rb), where);
      }
    }
    const ms = performance.now() - s;
    maxMs = Math.max(maxMs, ms);
    assert.ok(ms < 10_000, `took ${Math.round(ms)} ms\n${where}`);
    const rss = process.memoryUsage().rss;
    assert.ok(rss - rssStart < 512 * 2 ** 20, `memory grew by ${Math.round((rss - rssStart) / 2 ** 20)} MB\n${where}`);
    done++;
  }
  console.log(
    `runbook fuzz: seed ${cfg.seed}, ${done} inputs (${parsed} parsed, ${checked} checked against the commands) in ${((Date.now() - t0) / 1000).toFixed(1)} s, slowest ${Math.round(maxMs)} ms`,
  );
  assert.ok(done >= Math.min(cfg.count, 300) || cfg.only !== null, `only ${done} inputs ran in the time budget`);
});
