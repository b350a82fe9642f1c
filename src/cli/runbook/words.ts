/** The words of a runbook's commands: splitting, `${name}` references and their substitution, display, typos. */
import type { RcopyError } from '../../errors.js';
import { LIMITS, runbookError } from './model.js';

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
