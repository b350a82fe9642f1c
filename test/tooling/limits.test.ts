/**
 * Size limits for src/: no file over 400 lines and no function over 80 lines, unless a comment
 * line containing `long:` and a reason stands directly above the function (or, for a file, in the
 * comment block that opens it). Functions are found with the TypeScript parser, so nested functions,
 * methods, arrow functions and accessors are each measured from their first to their last line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from '../helpers.js';

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 80;
const LONG = /\blong:\s*\S/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

const isComment = (line: string): boolean => /^\s*(\/\/|\/\*|\*)/.test(line);

/** True when the comment lines directly above line `at` (0-based) include a `long:` reason. */
function reasonAbove(lines: string[], at: number): boolean {
  for (let i = at - 1; i >= 0 && isComment(lines[i]!); i--) if (LONG.test(lines[i]!)) return true;
  return false;
}

/** True when the comment block that opens the file includes a `long:` reason. */
function reasonAtTop(lines: string[]): boolean {
  for (const line of lines) {
    if (line.trim() === '' || line.startsWith('#!')) continue;
    if (!isComment(line)) return false;
    if (LONG.test(line)) return true;
  }
  return false;
}

function functionName(node: ts.Node, sf: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name) return named.name.getText(sf);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const p = node.parent;
  if (p && (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p))) return p.name.getText(sf);
  return '(anonymous)';
}

interface Offender {
  where: string;
  lines: number;
}

function scan(file: string, text = fs.readFileSync(file, 'utf8')): { fileLines: number; fileExcused: boolean; functions: Offender[] } {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const rel = path.relative(ROOT, file);
  const functions: Offender[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const n = last - first + 1;
      if (n > MAX_FUNCTION_LINES && !reasonAbove(lines, first)) {
        functions.push({ where: `${rel}:${first + 1} ${functionName(node, sf)}`, lines: n });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { fileLines: lines.length, fileExcused: reasonAtTop(lines), functions };
}

const files = sourceFiles(path.join(ROOT, 'src'));
const scanned = files.map((f) => ({ file: path.relative(ROOT, f), ...scan(f) }));

test('the limits scanner sees src/', () => {
  assert.ok(files.length > 20, `only ${files.length} files found under ${ROOT}/src`);
});

test('the scanner measures nested functions and honours a "long:" reason', () => {
  const body = (n: number): string => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
  const text = [
    '/** A module. long: kept whole because reasons */',
    `function short(): void {\n${body(3)}\n}`,
    `function tooLong(): void {\n${body(MAX_FUNCTION_LINES)}\n}`,
    '// long: one table, read top to bottom',
    `function excused(): void {\n${body(MAX_FUNCTION_LINES)}\n}`,
    `class C {\n  m(): void {\n    const inner = () => {\n${body(MAX_FUNCTION_LINES)}\n    };\n  }\n}`,
  ].join('\n');
  const s = scan(path.join(ROOT, 'src', 'sample.ts'), text);
  assert.equal(s.fileExcused, true);
  assert.deepEqual(
    s.functions.map((f) => f.where.replace(/^.*:\d+ /, '')),
    ['tooLong', 'm', 'inner'],
  );
});

test(`no file in src/ over ${MAX_FILE_LINES} lines without a "long:" reason at its top`, () => {
  const over = scanned.filter((s) => s.fileLines > MAX_FILE_LINES && !s.fileExcused);
  const list = over.map((s) => `  ${s.file}: ${s.fileLines} lines`).join('\n');
  assert.equal(over.length, 0, `${over.length} file(s) over ${MAX_FILE_LINES} lines:\n${list}`);
});

test(`no function in src/ over ${MAX_FUNCTION_LINES} lines without a "long:" reason above it`, () => {
  const over = scanned.flatMap((s) => s.functions);
  const list = over.map((o) => `  ${o.where}: ${o.lines} lines`).join('\n');
  assert.equal(over.length, 0, `${over.length} function(s) over ${MAX_FUNCTION_LINES} lines:\n${list}`);
});
