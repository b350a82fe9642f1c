/**
 * Runbooks: a YAML document of rcopy steps. This module holds the schema (below), its limits and
 * the parsed form; parse.ts reads a runbook and reports the first problem as `FILE:LINE: message`
 * (ERR_RCOPY_RUNBOOK, exit 2), words.ts splits and fills in command words, exec.ts runs one.
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
import { E, type RcopyError } from '../../errors.js';

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

export const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const BUILTIN_VARS = ['runbook_dir', 'home'];
