/**
 * A real pseudo-terminal for the CLI tests: one rcopy command line in a detached tmux session (its
 * own server socket, killed afterwards); keys are sent with send-keys and the screen read with
 * capture-pane. CI=true makes rcopy non-interactive, so the child runs without it.
 */
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, type TestHome, sleep } from '../helpers.js';

export const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;
export const skipNoTmux = HAVE_TMUX ? false : 'tmux is not installed (apt-get install tmux)';
let counter = 0;

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export class Terminal {
  /** tmux's server socket, in the test's home (removed with it): nothing left in /tmp. */
  readonly socket: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(home: TestHome, args: string[], size: { cols: number; rows: number } = { cols: 120, rows: 40 }, extraEnv = '') {
    this.socket = path.join(home.dir, `tmux-${++counter}`);
    const env = { ...process.env };
    delete env.TMUX;
    delete env.CI;
    this.env = env;
    const cmd = `env -u CI RCOPY_HOME=${q(home.dir)} NO_COLOR=1 ${extraEnv} ${q(process.execPath)} ${q(BIN)} ${args.map(q).join(' ')}; echo "[exit $?]"; sleep 600`;
    this.tmux('-f', '/dev/null', 'new-session', '-d', '-s', 't', '-x', String(size.cols), '-y', String(size.rows), cmd);
  }

  private tmux(...args: string[]): string {
    const r = spawnSync('tmux', ['-S', this.socket, ...args], { env: this.env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-J', '-t', 't').trimEnd();
  }

  /** Keys by tmux name (Enter, Down, Up, C-c). */
  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', 't', ...keys);
  }

  type(text: string): void {
    this.tmux('send-keys', '-t', 't', '-l', text);
  }

  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<string> {
    const t0 = Date.now();
    let s = '';
    while (Date.now() - t0 < timeoutMs) {
      s = this.screen();
      if (re.test(s)) return s;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${re} on the screen:\n${s}`);
  }

  /** Waits for the command to end; returns its exit status and the screen. */
  async exit(timeoutMs = 30_000): Promise<{ code: number; screen: string }> {
    const s = await this.waitFor(/\[exit \d+\]/, timeoutMs);
    return { code: Number(/\[exit (\d+)\]/.exec(s)![1]), screen: s };
  }

  kill(): void {
    spawnSync('tmux', ['-S', this.socket, 'kill-server'], { env: this.env });
  }
}

export async function inTerminal<T>(home: TestHome, args: string[], fn: (t: Terminal) => Promise<T>, size?: { cols: number; rows: number }, extraEnv = ''): Promise<T> {
  const t = new Terminal(home, args, size, extraEnv);
  try {
    return await fn(t);
  } finally {
    t.kill();
  }
}
