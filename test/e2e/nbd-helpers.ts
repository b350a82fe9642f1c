/** What the NBD tests share: the real clients (libnbd-bin, qemu-utils, fio), an export's URI, random images. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { runProcess, type RunResult, type TestHome } from '../helpers.js';

export function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** Skips a test when a client is missing (.ci/run installs them). */
export function needs(...tools: string[]): { skip?: string } {
  const missing = tools.filter((t) => !have(t));
  return missing.length ? { skip: `not installed: ${missing.join(', ')}` } : {};
}

/** Starts an export and returns its URI (export list --json). */
export async function exportUri(h: TestHome, ref: string, ...args: string[]): Promise<string> {
  const r = await h.ok('export', 'start', ref, ...args, '--json');
  assert.ok(r.uri, 'export start gives a URI');
  return r.uri as string;
}

export async function tool(argv: string[], timeoutMs = 120_000): Promise<RunResult> {
  return runProcess(argv, { timeoutMs });
}

export async function toolOk(argv: string[], timeoutMs = 120_000): Promise<string> {
  const r = await tool(argv, timeoutMs);
  assert.equal(r.code, 0, `${argv.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A raw image of random data in a temporary directory of the home; returns its path and sha256. */
export function randomImage(h: TestHome, bytes: number, seed = 1): { file: string; sha256: string } {
  const file = path.join(h.tempDir(), `img-${seed}.raw`);
  const data = crypto.randomBytes(bytes);
  fs.writeFileSync(file, data);
  return { file, sha256: crypto.createHash('sha256').update(data).digest('hex') };
}
