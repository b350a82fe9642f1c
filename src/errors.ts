/**
 * One error type for everything the user can see. Each error has a stable code
 * (ERR_RCOPY_*), a one-line message and, where the user can fix it, a hint.
 * The exit status is derived from the code's kind (DESIGN.md §5):
 *   0 done, 1 failed, 2 usage, 3 data/integrity, 4 peer/link, 5 timeout.
 */

export type ErrorKind = 'failed' | 'usage' | 'integrity' | 'peer' | 'timeout';

/** Every code rcopy gives an error (each is built by a factory of E below, or by storageError). */
export type ErrorCode =
  | 'ERR_RCOPY_ABORTED'
  | 'ERR_RCOPY_ACCESS'
  | 'ERR_RCOPY_ARRAY_EXISTS'
  | 'ERR_RCOPY_AUTH'
  | 'ERR_RCOPY_BACKUP_TARGET_TOO_SMALL'
  | 'ERR_RCOPY_BAD_DURATION'
  | 'ERR_RCOPY_BAD_FRAME'
  | 'ERR_RCOPY_BAD_INPUT'
  | 'ERR_RCOPY_BAD_NAME'
  | 'ERR_RCOPY_BAD_PATH'
  | 'ERR_RCOPY_BAD_RATE'
  | 'ERR_RCOPY_BAD_REQUEST'
  | 'ERR_RCOPY_BAD_SIZE'
  | 'ERR_RCOPY_BAD_TRACE'
  | 'ERR_RCOPY_CONFIG'
  | 'ERR_RCOPY_CONTROLLER_DOWN'
  | 'ERR_RCOPY_CONTROLLER_START'
  | 'ERR_RCOPY_FENCED'
  | 'ERR_RCOPY_INTEGRITY'
  | 'ERR_RCOPY_INTERNAL'
  | 'ERR_RCOPY_IN_USE'
  | 'ERR_RCOPY_IO'
  | 'ERR_RCOPY_JOURNAL_EXISTS'
  | 'ERR_RCOPY_JOURNAL_FULL'
  | 'ERR_RCOPY_JOURNAL_SEQ'
  | 'ERR_RCOPY_LINK_DOWN'
  | 'ERR_RCOPY_LINK_EXISTS'
  | 'ERR_RCOPY_NOT_AN_ARRAY'
  | 'ERR_RCOPY_NOT_FOUND'
  | 'ERR_RCOPY_NO_ARRAY'
  | 'ERR_RCOPY_NO_SPACE'
  | 'ERR_RCOPY_NO_VOLUME'
  | 'ERR_RCOPY_OUT_OF_RANGE'
  | 'ERR_RCOPY_PEER'
  | 'ERR_RCOPY_PEER_DOWN'
  | 'ERR_RCOPY_RESTORE_TARGET_TOO_SMALL'
  | 'ERR_RCOPY_RESYNC_FAILED'
  | 'ERR_RCOPY_RUNBOOK'
  | 'ERR_RCOPY_STATE'
  | 'ERR_RCOPY_TIMEOUT'
  | 'ERR_RCOPY_UNSAFE_FILE'
  | 'ERR_RCOPY_UNSAFE_SOCKET'
  | 'ERR_RCOPY_USAGE'
  | 'ERR_RCOPY_VOLUME_EXISTS'
  | 'ERR_RCOPY_VOLUME_IN_USE';

const EXIT: Record<ErrorKind, number> = { failed: 1, usage: 2, integrity: 3, peer: 4, timeout: 5 };

/** An error as it crosses the wire; a peer of another version may send a code not in ErrorCode. */
export interface RcopyErrorJSON {
  code: string;
  message: string;
  hint?: string;
  kind: ErrorKind;
}

export class RcopyError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly kind: ErrorKind;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; kind?: ErrorKind } = {}) {
    super(message);
    this.name = 'RcopyError';
    this.code = code;
    this.hint = opts.hint;
    this.kind = opts.kind ?? 'failed';
  }

  get exitCode(): number {
    return EXIT[this.kind];
  }

  toJSON(): RcopyErrorJSON {
    const j: RcopyErrorJSON = { code: this.code, message: this.message, kind: this.kind };
    if (this.hint) j.hint = this.hint;
    return j;
  }

  /** The error a peer sent: its code is kept as sent (the exit status follows its kind). */
  static fromJSON(j: RcopyErrorJSON): RcopyError {
    return new RcopyError(j.code as ErrorCode, j.message, { hint: j.hint, kind: j.kind });
  }
}

/** A bug in rcopy, not something the user did. */
export class InternalError extends RcopyError {
  constructor(message: string) {
    super('ERR_RCOPY_INTERNAL', `internal error (a bug in rcopy): ${message}`, { kind: 'failed' });
  }
}

export function exitCodeOf(err: unknown): number {
  return err instanceof RcopyError ? err.exitCode : 1;
}

/**
 * Errors of the storage under rcopy (the file system, or SQLite on it) that the user fixes on the
 * machine, each with its own code: ERR_RCOPY_NO_SPACE (ENOSPC, EDQUOT, SQLITE_FULL), ERR_RCOPY_IO
 * (EIO, SQLITE_IOERR*) and ERR_RCOPY_ACCESS (EACCES,
 * EPERM, EROFS, SQLITE_READONLY, SQLITE_PERM), all exit 1. The message names the file (the error's
 * .path; else `where.store` for SQLite, or `where.path`, the array directory when nothing narrower is
 * known) and the array.
 */
const STORAGE: Record<string, { code: ErrorCode; what: string; hint: (p?: string) => string }> = {};
const noSpace = {
  code: 'ERR_RCOPY_NO_SPACE' as const,
  what: 'no space left on the device',
  hint: (p?: string) => `free space on the file system${p ? ` that holds ${p}` : ''} (df -h), then retry; a pair suspended by it needs rcopy pair resync`,
};
const io = {
  code: 'ERR_RCOPY_IO' as const,
  what: 'I/O error',
  hint: (p?: string) => `check the disk${p ? ` that holds ${p}` : ''} (dmesg, smartctl) before retrying`,
};
const access = {
  code: 'ERR_RCOPY_ACCESS' as const,
  what: 'access refused',
  hint: (p?: string) => `check the owner and mode of ${p ?? 'the file'} and of its directory, and that its file system is not mounted read-only`,
};
for (const c of ['ENOSPC', 'EDQUOT', 'SQLITE_FULL']) STORAGE[c] = noSpace;
for (const c of ['EIO', 'SQLITE_IOERR']) STORAGE[c] = io;
for (const c of ['EACCES', 'EPERM', 'EROFS', 'SQLITE_READONLY', 'SQLITE_PERM']) STORAGE[c] = access;

/** The mapped error for a file-system or SQLite error (NodeJS.ErrnoException, SqliteError), else null. */
export function storageError(e: unknown, where: { array?: string; path?: string; store?: string } = {}): RcopyError | null {
  if (e instanceof RcopyError || typeof e !== 'object' || e === null) return null;
  const x = e as NodeJS.ErrnoException;
  if (typeof x.code !== 'string') return null;
  // SQLite's extended codes (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED...) go with their primary code
  const m = STORAGE[x.code] ?? STORAGE[x.code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1')];
  if (!m) return null;
  const sqlite = x.code.startsWith('SQLITE_');
  const file = typeof x.path === 'string' ? x.path : sqlite ? (where.store ?? where.path) : where.path;
  const detail = [where.array ? `array '${where.array}'` : '', sqlite ? `management store: ${x.code}` : x.syscall ? `${x.syscall}: ${x.code}` : x.code];
  return new RcopyError(m.code, `${m.what}${file ? `: ${file}` : ''} (${detail.filter(Boolean).join(', ')})`, { kind: 'failed', hint: m.hint(file) });
}

/** What the user is shown for any error: an RcopyError as it is, a storage error mapped, else a bug. */
export function toRcopyError(e: unknown, where: { array?: string; path?: string; store?: string } = {}): RcopyError {
  if (e instanceof RcopyError) return e;
  return storageError(e, where) ?? new InternalError((e as Error)?.stack ?? String(e));
}

/** Names the file an error is about when the call that failed had only a handle (write, fsync). */
export function withPath<T>(e: T, file: string): T {
  if (typeof e === 'object' && e !== null && !(e instanceof RcopyError)) {
    const x = e as unknown as NodeJS.ErrnoException;
    if (typeof x.code === 'string' && typeof x.path !== 'string') x.path = file;
  }
  return e;
}

/** Named factories, so the same situation always gets the same code and wording. */
export const E = {
  usage: (message: string, hint?: string) => new RcopyError('ERR_RCOPY_USAGE', message, { kind: 'usage', hint }),
  badSize: (text: string, why = 'not a size') =>
    new RcopyError('ERR_RCOPY_BAD_SIZE', `invalid size '${text}': ${why}`, { kind: 'usage', hint: 'use a number with an optional unit: 512, 64k, 10M, 4G, 1T' }),
  badRate: (text: string) => new RcopyError('ERR_RCOPY_BAD_RATE', `invalid rate '${text}'`, { kind: 'usage', hint: 'use a size per second: 100MB/s, 1Gb/s, 50M' }),
  badDuration: (text: string, what = 'duration ', why?: string) =>
    new RcopyError('ERR_RCOPY_BAD_DURATION', `invalid ${what}'${text}'${why ? `: ${why}` : ''}`, { kind: 'usage', hint: 'use 500ms, 30s, 5m, 1h or 1d' }),
  /** A peer's answer turned into this side's error: the peer's code when it has one. */
  fromPeer: (e: unknown, message: string, hint: string) => new RcopyError(e instanceof RcopyError ? e.code : 'ERR_RCOPY_PEER', message, { kind: 'peer', hint }),
  badName: (what: string, name: string, why: string) =>
    new RcopyError('ERR_RCOPY_BAD_NAME', `invalid ${what} name '${name}': ${why}`, {
      kind: 'usage',
      hint: 'names use letters, digits, . _ and -, start with a letter or digit, at most 64 characters',
    }),
  noArray: (name: string) => new RcopyError('ERR_RCOPY_NO_ARRAY', `no array named '${name}'`, { kind: 'usage', hint: "run 'rcopy array list' to see the arrays, or 'rcopy array create NAME'" }),
  arrayExists: (name: string) =>
    new RcopyError('ERR_RCOPY_ARRAY_EXISTS', `an array named '${name}' already exists`, { kind: 'usage', hint: 'choose another name, or delete it first with rcopy array delete' }),
  notAnArray: (dir: string) => new RcopyError('ERR_RCOPY_NOT_AN_ARRAY', `'${dir}' is not an rcopy array directory`, { kind: 'usage', hint: 'it has no rcopy management store; remove or rename it' }),
  noVolume: (array: string, name: string) => new RcopyError('ERR_RCOPY_NO_VOLUME', `array '${array}' has no volume '${name}'`, { kind: 'usage', hint: `run 'rcopy volume list ${array}'` }),
  volumeExists: (array: string, name: string) => new RcopyError('ERR_RCOPY_VOLUME_EXISTS', `volume '${array}:${name}' already exists`, { kind: 'usage' }),
  outOfRange: (what: string) => new RcopyError('ERR_RCOPY_OUT_OF_RANGE', what, { kind: 'usage' }),
  notRunning: (name: string) => new RcopyError('ERR_RCOPY_CONTROLLER_DOWN', `the controller of array '${name}' is not running`, { kind: 'failed', hint: `run 'rcopy array start ${name}'` }),
  integrity: (message: string, hint?: string) => new RcopyError('ERR_RCOPY_INTEGRITY', message, { kind: 'integrity', hint }),
  peer: (message: string, hint?: string) => new RcopyError('ERR_RCOPY_PEER', message, { kind: 'peer', hint }),
  linkExists: (a: string, b: string, hint: string) => new RcopyError('ERR_RCOPY_LINK_EXISTS', `the link between '${a}' and '${b}' exists already`, { kind: 'usage', hint }),
  /** An array, volume or journal that something still uses (a pair, an export, a collection): delete refused. */
  inUse: (message: string, hint: string) => new RcopyError('ERR_RCOPY_IN_USE', message, { kind: 'usage', hint }),
  linkDown: (a: string, b: string) => new RcopyError('ERR_RCOPY_LINK_DOWN', `the link between '${a}' and '${b}' is down`, { kind: 'peer', hint: `run 'rcopy link up ${a} ${b}'` }),
  timeout: (message: string) => new RcopyError('ERR_RCOPY_TIMEOUT', message, { kind: 'timeout' }),
  state: (message: string, hint: string) => new RcopyError('ERR_RCOPY_STATE', message, { kind: 'failed', hint }),
  notFound: (what: string, id: string, hint?: string) => new RcopyError('ERR_RCOPY_NOT_FOUND', `no ${what} '${id}'`, { kind: 'usage', hint }),
  badInput: (message: string, hint?: string) => new RcopyError('ERR_RCOPY_BAD_INPUT', message, { kind: 'usage', hint }),
  /** A copy or task stopped on purpose (a revert, a suspension, a stop) or because its pair left COPY. */
  aborted: (message: string) => new RcopyError('ERR_RCOPY_ABORTED', message, { kind: 'failed' }),
  /** A sync pair's fence refused or failed a host write. */
  fenced: (message: string, hint: string, kind: ErrorKind = 'failed') => new RcopyError('ERR_RCOPY_FENCED', message, { kind, hint }),
  journalExists: (what: string) => new RcopyError('ERR_RCOPY_JOURNAL_EXISTS', `${what} already exists`, { kind: 'usage' }),
  journalFull: (message: string, hint: string) => new RcopyError('ERR_RCOPY_JOURNAL_FULL', message, { kind: 'failed', hint }),
  journalSeq: (message: string) => new RcopyError('ERR_RCOPY_JOURNAL_SEQ', message, { kind: 'failed' }),
  noSpace: (message: string, hint: string) => new RcopyError('ERR_RCOPY_NO_SPACE', message, { kind: 'failed', hint }),
  unsafe: (what: 'SOCKET' | 'FILE', message: string, hint: string) => new RcopyError(`ERR_RCOPY_UNSAFE_${what}`, message, { kind: 'failed', hint }),
  badTrace: (message: string, hint?: string) => new RcopyError('ERR_RCOPY_BAD_TRACE', message, { kind: 'integrity', hint }),
  config: (message: string, hint: string) => new RcopyError('ERR_RCOPY_CONFIG', message, { kind: 'usage', hint }),
  backupTargetTooSmall: (message: string, hint: string) => new RcopyError('ERR_RCOPY_BACKUP_TARGET_TOO_SMALL', message, { kind: 'usage', hint }),
  restoreTargetTooSmall: (message: string, hint: string) => new RcopyError('ERR_RCOPY_RESTORE_TARGET_TOO_SMALL', message, { kind: 'usage', hint }),
  volumeInUse: (message: string, hint: string, kind: ErrorKind = 'failed') => new RcopyError('ERR_RCOPY_VOLUME_IN_USE', message, { kind, hint }),
  /** A request's params are not what its method takes (checked before the handler runs). */
  badRequest: (message: string) => new RcopyError('ERR_RCOPY_BAD_REQUEST', message, { kind: 'usage' }),
  /** A frame that is not a request at all (no id, unknown method, params not an object). */
  malformedRequest: (message: string, hint?: string) => new RcopyError('ERR_RCOPY_BAD_REQUEST', message, { kind: 'peer', hint }),
  badFrame: (message: string) => new RcopyError('ERR_RCOPY_BAD_FRAME', message, { kind: 'peer' }),
  /** A connection to a controller failed, closed, or did not open in time. */
  connection: (message: string) => new RcopyError('ERR_RCOPY_PEER', message, { kind: 'peer' }),
  /** A request that got no answer in time (a peer error: the other side did not answer). */
  noAnswer: (label: string, method: string, ms: number) => new RcopyError('ERR_RCOPY_TIMEOUT', `${label}: '${method}' got no answer in ${ms} ms`, { kind: 'peer' }),
  /** A TCP connection whose token (or transport security) the other side refused. */
  auth: (message: string, hint?: string) => new RcopyError('ERR_RCOPY_AUTH', message, { kind: 'peer', hint }),
  peerDown: (name: string) => new RcopyError('ERR_RCOPY_PEER_DOWN', `the controller of peer array '${name}' is not running`, { kind: 'peer', hint: `run 'rcopy array start ${name}'` }),
  controllerStart: (message: string, hint: string) => new RcopyError('ERR_RCOPY_CONTROLLER_START', message, { kind: 'failed', hint }),
  resyncFailed: (message: string, hint: string) => new RcopyError('ERR_RCOPY_RESYNC_FAILED', message, { kind: 'peer', hint }),
  badPath: (message: string, hint?: string) => new RcopyError('ERR_RCOPY_BAD_PATH', message, { kind: 'usage', hint }),
  runbook: (message: string, hint?: string) => new RcopyError('ERR_RCOPY_RUNBOOK', message, { kind: 'usage', hint }),
};
