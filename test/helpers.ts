/**
 * Test helpers: a temporary RCOPY_HOME per test, running the built `rcopy` binary as a real
 * process, and stopping every controller the test started (a test that leaves one running fails).
 * `homeTest` / `withHome` give a test its home and clean it up whatever happens.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { test, type TestOptions } from 'node:test';
import { livePid } from '../src/engine/array/controller-process.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'rcopy');
/** Real block traces kept with the tests (MSR Cambridge samples; see test/fixtures/traces/README.md). */
export const TRACES = path.join(ROOT, 'test', 'fixtures', 'traces');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

/** Runs a process to its end and collects its output; never throws on a non-zero exit. */
export function runProcess(argv: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; label?: string } = {}): Promise<RunResult> {
  const label = opts.label ?? argv.join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} timed out\n${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({
        code: code ?? -1,
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`not JSON from ${label}:\n${stdout}\n${stderr}`);
          }
        },
      });
    });
    // a command that needs no input may exit before its stdin is closed: that EPIPE is not an error
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export function tmpDir(prefix = 'rcopy-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface RcopyRunOptions {
  input?: string;
  timeoutMs?: number;
  /** Added to (or, with a value of undefined, removed from) the home's environment. */
  env?: NodeJS.ProcessEnv;
  /** Runs rcopy under this umask (through sh) instead of the test runner's. */
  umask?: string;
}

export class TestHome {
  readonly dir: string;
  private readonly extraDirs: string[] = [];
  private readonly hooks: Array<() => unknown> = [];
  constructor() {
    this.dir = tmpDir();
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, RCOPY_HOME: this.dir, NO_COLOR: '1', CI: 'true' };
  }

  /** Runs rcopy with arguments; never throws on a non-zero exit. */
  run(args: string[], opts: RcopyRunOptions = {}): Promise<RunResult> {
    const env: NodeJS.ProcessEnv = { ...this.env, ...opts.env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    // as a user runs it: bin/rcopy itself, which starts from the startup snapshot when it can
    const rcopy = [BIN, ...args];
    const argv = opts.umask === undefined ? rcopy : ['sh', '-c', `umask ${opts.umask}; exec "$0" "$@"`, ...rcopy];
    return runProcess(argv, { env, input: opts.input, timeoutMs: opts.timeoutMs, label: `rcopy ${args.join(' ')}` });
  }

  /** Runs rcopy and asserts exit 0; returns parsed JSON when --json was given. */
  async ok(...args: string[]): Promise<any> {
    const r = await this.run(args);
    assert.equal(r.code, 0, `rcopy ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return args.includes('--json') ? r.json() : r.stdout;
  }

  /** Runs rcopy expecting failure with an exit code and error code. */
  async fails(code: number, errCode: string | RegExp, ...args: string[]): Promise<RunResult> {
    const r = await this.run(args);
    assert.equal(r.code, code, `rcopy ${args.join(' ')}: expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    const text = r.stdout + r.stderr;
    if (typeof errCode === 'string') assert.ok(text.includes(errCode), `expected ${errCode} in output:\n${text}`);
    else assert.match(text, errCode);
    return r;
  }

  /** A further temporary directory outside the home (so it is not part of the home's listing), removed by cleanup. */
  tempDir(): string {
    const d = tmpDir();
    this.extraDirs.push(d);
    return d;
  }

  /** Work that cleanup does first, newest first (stopping controllers of another home, unmounting). */
  onCleanup(fn: () => unknown): void {
    this.hooks.push(fn);
  }

  pids(): number[] {
    const arrays = path.join(this.dir, 'arrays');
    if (!fs.existsSync(arrays)) return [];
    const out: number[] = [];
    for (const n of fs.readdirSync(arrays)) {
      const pid = livePid(path.join(arrays, n));
      if (pid !== null) out.push(pid);
    }
    return out;
  }

  /**
   * Runs the onCleanup work, stops every controller, checks none is left, removes the home and the
   * temporary directories. Everything is done even when a step fails; the first failure is thrown.
   */
  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    for (const fn of this.hooks.splice(0).reverse()) {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    }
    spawnSync(process.execPath, [BIN, 'array', 'stop', '--all'], { env: this.env, timeout: 60_000 });
    const left = this.pids();
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // a killed process may still finish the system call it was in (a file created in its array):
    // the home goes once it is gone, and the removal retries a directory that was not empty yet
    const until = Date.now() + 10_000;
    while (left.some(alive) && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
    for (const d of [this.dir, ...this.extraDirs.splice(0)]) {
      try {
        fs.rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      } catch (e) {
        errors.push(e);
      }
    }
    // the controller left running is the finding; a removal that failed because of it follows from it
    assert.deepEqual(left, [], `controllers were still running after array stop --all${errors.length ? ` (and: ${(errors[0] as Error).message})` : ''}`);
    if (errors.length > 0) throw errors[0];
  }
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs fn with a fresh TestHome and always cleans it up (controllers stopped, directories removed),
 * even when fn fails; then fn's failure is the one reported, with a failed cleanup as its cause.
 */
export async function withHome<T>(fn: (h: TestHome) => Promise<T>): Promise<T> {
  const h = new TestHome();
  let result: T;
  try {
    result = await fn(h);
  } catch (e) {
    try {
      await h.cleanup();
    } catch (cleanupError) {
      if (e instanceof Error && e.cause === undefined) e.cause = cleanupError;
    }
    throw e;
  }
  await h.cleanup();
  return result;
}

/** A test with a fresh TestHome of its own, cleaned up afterwards whatever the outcome (see withHome). */
export function homeTest(name: string, fn: (h: TestHome) => Promise<void>): void;
export function homeTest(name: string, options: TestOptions, fn: (h: TestHome) => Promise<void>): void;
export function homeTest(name: string, a: TestOptions | ((h: TestHome) => Promise<void>), b?: (h: TestHome) => Promise<void>): void {
  const [options, fn] = typeof a === 'function' ? [{}, a] : [a, b!];
  void test(name, options, () => withHome(fn));
}

export function arrayDirOf(home: TestHome, name: string): string {
  return path.join(home.dir, 'arrays', name);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs = 30_000, stepMs = 100): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await cond()) return;
    await sleep(stepMs);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** Runs fn with a fresh temporary directory, removed afterwards. */
export async function withDir(prefix: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Small deterministic PRNG (mulberry32): numbers in [0, 1). */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
