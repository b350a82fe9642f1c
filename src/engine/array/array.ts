/**
 * One simulated storage system: a directory with a management store (mgmt.db), volume images
 * under volumes/ and journals under journals/. The StorageArray object is the single writer: only
 * the array's controller holds one open.
 *
 * Every write into a volume goes through write() or writeMany(), i.e. the array's WritePath
 * (write-path.ts), which runs the write hooks that features install (replication journals or
 * differential bitmaps, backup copy-on-write, PB-bit statistics) and then makes the write durable
 * as the array's durability setting says before it resolves.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { E, RcopyError, storageError, withPath } from '../../errors.js';
import { checkName } from '../../units.js';
import { hashRange } from './checksum.js';
import { STORE_FILE, dirMode, fileMode, mkdirMode, setArrayAccess } from './home.js';
import { ManagementStore } from './mgmt-store.js';
import { SpaceReserve } from './reserve.js';
import { Volume, type VolumeInfo } from './volume.js';
import { WritePath, type VolumeWrite, type WriteHook, type WriteOrigin } from './write-path.js';

export type Durability = 'fsync' | 'none';

export interface ArrayInfo {
  name: string;
  serial: string;
  trackSize: number;
  durability: Durability;
  /** Who may reach the array's files: its owner only, or also its group (--group-access). */
  access: 'owner' | 'group';
  created: number;
  dir: string;
  volumes: number;
}

/** A use of a volume by a feature: e.g. { kind: 'pair', id: 'siteA:db', role: 'P-VOL', state: 'PAIR', active: true }. */
export interface VolumeUse {
  kind: 'pair' | 'backup-source' | 'backup-target' | string;
  /** How to name it to the user (a pair by its volumes, a backup by its id). */
  id: string;
  role?: string;
  state?: string;
  /** An active use forbids overwriting the volume from outside (restore, delete). */
  active: boolean;
  /** Anything worth recording alongside (e.g. the pair and last restored sequence number of an S-VOL). */
  detail?: Record<string, unknown>;
}

export interface CreateArrayOptions {
  name: string;
  serial?: string;
  trackSize?: number;
  durability?: Durability;
  /** Directories 0750 and files 0640 instead of 0700 and 0600: the owner's group may read them. */
  groupAccess?: boolean;
}

const VOLUME_DDL = `CREATE TABLE IF NOT EXISTS volumes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  created INTEGER NOT NULL
)`;

export class StorageArray {
  readonly volumes = new Map<string, Volume>();
  /** Every write into a volume: hooks, the data, durability (write-path.ts). */
  private readonly writePath: WritePath;
  private readonly reserve: SpaceReserve;

  private constructor(
    readonly dir: string,
    readonly store: ManagementStore,
    readonly name: string,
    readonly serial: string,
    readonly trackSize: number,
    public durability: Durability,
    readonly created: number,
  ) {
    this.reserve = new SpaceReserve(dir);
    this.writePath = new WritePath({
      volumes: () => this.volumes.values(),
      durable: () => this.durability === 'fsync',
      afterWrite: () => this.reserve.afterWrite(),
    });
  }

  /** The write hooks that features install; run in order for every write (write-path.ts). */
  get writeHooks(): WriteHook[] {
    return this.writePath.hooks;
  }

  /** Sync hooks: make other durable parts (journals) durable with the volumes, once per batch. */
  get syncHooks(): Array<() => Promise<void>> {
    return this.writePath.syncHooks;
  }

  /** Guards of write-ahead logs, run before a write no hook logged (write-path.ts). */
  get unloggedGuards(): WritePath['unloggedGuards'] {
    return this.writePath.unloggedGuards;
  }

  static async create(dir: string, opts: CreateArrayOptions): Promise<StorageArray> {
    checkName('array', opts.name);
    const trackSize = opts.trackSize ?? 64 * 1024;
    if (!(trackSize >= 4096 && trackSize <= 1024 * 1024 && (trackSize & (trackSize - 1)) === 0)) {
      throw E.badSize(String(trackSize), 'track size must be a power of two from 4k to 1M');
    }
    const serial = opts.serial ?? String(10000 + crypto.randomInt(90000));
    if (!/^\d{5}$/.test(serial)) throw E.badInput(`invalid serial '${serial}'`, 'a serial is 5 digits, e.g. 64015');
    const durability = opts.durability ?? 'fsync';
    if (durability !== 'fsync' && durability !== 'none') throw E.badInput(`invalid durability '${String(durability)}'`, 'use fsync or none');
    if (fs.existsSync(dir)) {
      if (fs.existsSync(path.join(dir, STORE_FILE))) throw E.arrayExists(opts.name);
      throw E.notAnArray(dir);
    }
    try {
      setArrayAccess(!!opts.groupAccess);
      mkdirMode(dir);
      mkdirMode(path.join(dir, 'volumes'));
      mkdirMode(path.join(dir, 'journals'));
      createStore(dir, { name: opts.name, serial, trackSize: String(trackSize), durability, access: opts.groupAccess ? 'group' : 'owner', created: String(Date.now()) });
    } catch (e) {
      // a create that fails (a full disk, no permission) leaves nothing that a retry would trip on
      fs.rmSync(dir, { recursive: true, force: true });
      throw withPath(e, dir);
    }
    return StorageArray.open(dir);
  }

  static async open(dir: string): Promise<StorageArray> {
    const file = path.join(dir, STORE_FILE);
    if (!fs.existsSync(file)) throw E.notAnArray(dir);
    const store = ManagementStore.open(file);
    const broken = store.integrityProblems();
    if (broken.length) {
      store.close();
      throw E.integrity(`the management store ${file} failed SQLite's integrity check: ${broken.slice(0, 3).join('; ')}`, 'restore mgmt.db from a backup; the volumes and journals are untouched');
    }
    const name = store.getMeta('name')!;
    // files made from here on follow the array's access setting; an array directory of an older
    // rcopy (made under the caller's umask) is narrowed to it
    setArrayAccess(store.getMeta('access') === 'group');
    try {
      const st = fs.statSync(dir);
      if (st.uid === process.getuid?.() && (st.mode & 0o777 & ~dirMode()) !== 0) fs.chmodSync(dir, dirMode());
    } catch {
      /* not ours to change */
    }
    const durability = (store.getMeta('durability') ?? 'fsync') as Durability;
    // management state follows the array's durability: with 'none' a commit is not fsynced
    // (WAL: safe against a killed process, not against a power loss)
    if (durability === 'none') store.db.pragma('synchronous = NORMAL');
    const a = new StorageArray(dir, store, name, store.getMeta('serial') ?? '00000', Number(store.getMeta('trackSize') ?? 65536), durability, Number(store.getMeta('created') ?? 0));
    store.ensureSchema('volumes', VOLUME_DDL);
    const rows = store.db.prepare('SELECT id, name, size, created FROM volumes ORDER BY id').all() as Array<{ id: number; name: string; size: number; created: number }>;
    for (const r of rows) {
      a.volumes.set(r.name, a.withWriteback(await Volume.open(dir, r.id, r.name, r.size, a.trackSize, r.created)));
    }
    await a.keepReserve();
    return a;
  }

  get access(): 'owner' | 'group' {
    return this.store.getMeta('access') === 'group' ? 'group' : 'owner';
  }

  /** Makes the units of the space reserve that are missing (reserve.ts). */
  keepReserve(): Promise<void> {
    return this.reserve.keep();
  }

  /** A write failed for lack of space: frees one unit of the reserve (reserve.ts); false when none was left. */
  useReserve(): boolean {
    return this.reserve.use();
  }

  /**
   * Records a state change that a failure (`cause`) made necessary, on a disk that may be full:
   * when the cause was a lack of space one unit of the reserve is freed first, and one more before
   * each retry while the record itself meets a full disk and units are left.
   */
  async recordOnFullDisk<T>(cause: unknown, record: () => Promise<T>): Promise<T> {
    if (isNoSpace(cause)) this.useReserve();
    for (;;) {
      try {
        return await record();
      } catch (e) {
        if (!isNoSpace(e) || !this.useReserve()) throw e;
      }
    }
  }

  info(): ArrayInfo {
    return {
      name: this.name,
      serial: this.serial,
      trackSize: this.trackSize,
      durability: this.durability,
      access: this.access,
      created: this.created,
      dir: this.dir,
      volumes: this.volumes.size,
    };
  }

  volume(name: string): Volume {
    const v = this.volumes.get(name);
    if (!v) throw E.noVolume(this.name, name);
    return v;
  }

  volumeById(id: number): Volume {
    for (const v of this.volumes.values()) if (v.id === id) return v;
    throw E.integrity(`array '${this.name}' has no volume with id ${id}`);
  }

  async createVolume(name: string, size: number): Promise<VolumeInfo> {
    checkName('volume', name);
    if (this.volumes.has(name)) throw E.volumeExists(this.name, name);
    if (!Number.isSafeInteger(size) || size <= 0) throw E.badSize(String(size), 'a volume needs a positive size');
    if (size % this.trackSize !== 0) {
      throw E.badSize(String(size), `not a multiple of the track size (${this.trackSize} bytes)`);
    }
    const p = Volume.paths(this.dir, name);
    if (fs.existsSync(p.image)) fs.rmSync(p.image);
    if (fs.existsSync(p.alloc)) fs.rmSync(p.alloc);
    const created = Date.now();
    const info = this.store.db.prepare('INSERT INTO volumes(name, size, created) VALUES (?, ?, ?)').run(name, size, created);
    try {
      const v = this.withWriteback(await Volume.create(this.dir, Number(info.lastInsertRowid), name, size, this.trackSize, created));
      this.volumes.set(name, v);
      return v.info();
    } catch (e) {
      this.store.db.prepare('DELETE FROM volumes WHERE name = ?').run(name);
      throw e;
    }
  }

  /** Checks that come from features (a volume in a pair cannot be deleted...). */
  readonly deleteGuards: Array<(vol: Volume) => void> = [];

  /** Features report who uses a volume (a pair, a backup...), so others can refuse or record it. */
  readonly usageProviders: Array<(vol: Volume) => VolumeUse[]> = [];

  usesOf(volName: string | Volume): VolumeUse[] {
    const vol = typeof volName === 'string' ? this.volume(volName) : volName;
    return this.usageProviders.flatMap((f) => f(vol));
  }

  async deleteVolume(name: string): Promise<void> {
    const v = this.volume(name);
    for (const g of this.deleteGuards) g(v);
    const busy = this.usesOf(v).filter((u) => u.active);
    if (busy.length) {
      throw E.state(`volume '${this.name}:${name}' is in use by ${busy.map((u) => `${u.kind} ${u.id}${u.state ? ` (${u.state})` : ''}`).join(', ')}`, 'delete the pair or backup that uses it first');
    }
    this.store.db.prepare('DELETE FROM volumes WHERE name = ?').run(name);
    this.volumes.delete(name);
    await v.close();
    const p = Volume.paths(this.dir, name);
    await fsp.rm(p.image, { force: true });
    await fsp.rm(p.alloc, { force: true });
  }

  /** A write into a volume: hooks, then the data, then durability (WritePath.write). */
  async write(volName: string | Volume, offset: number, data: Buffer, origin: WriteOrigin = 'host', opts: { sync?: boolean } = {}): Promise<void> {
    const vol = typeof volName === 'string' ? this.volume(volName) : volName;
    return this.writePath.write(vol, offset, data, origin, opts);
  }

  /** Several writes as one step under the write lock, not made durable (WritePath.writeMany). */
  writeMany(writes: ReadonlyArray<VolumeWrite>, origin: WriteOrigin): Promise<void> {
    return this.writePath.writeMany(writes, origin);
  }

  /** Runs fn with the write lock held (hooks that change replication state use it too). */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.writePath.locked(fn);
  }

  async read(volName: string, offset: number, length: number): Promise<Buffer> {
    return this.volume(volName).read(offset, length);
  }

  /** A volume's early writeback (util/writeback.ts) runs while commits fsync its writes. */
  private withWriteback(v: Volume): Volume {
    v.writeback.enabled = () => this.durability === 'fsync';
    return v;
  }

  /** Makes everything written so far durable, if the array's durability asks for it. */
  commit(): Promise<void> {
    return this.writePath.commit();
  }

  /**
   * Makes every volume durable, logged writes included: journals call it before they drop
   * entries. With `barrier`, first waits for the writes under way (the entry of one may be among
   * those dropped); never with the write lock held (it would wait for itself). `mark` runs once
   * no write is under way (inside the barrier, or at once without one): what a journal has logged
   * by then is on the volumes, and durable when this resolves.
   */
  async checkpoint(opts: { barrier?: boolean; mark?: () => void } = {}): Promise<void> {
    if (opts.barrier) await this.locked(async () => opts.mark?.());
    else opts.mark?.();
    await Promise.all([...this.volumes.values()].map((v) => v.checkpoint()));
  }

  /** SHA-256 of a volume range, holes read as zeros (checksum.ts). */
  async checksum(volName: string, range?: { offset: number; length: number }): Promise<{ sha256: string; bytes: number }> {
    const vol = this.volume(volName);
    const start = range?.offset ?? 0;
    const length = range?.length ?? vol.size - start;
    vol.checkRange(start, length);
    return { sha256: await hashRange(vol, start, length), bytes: length };
  }

  async close(): Promise<void> {
    for (const v of this.volumes.values()) await v.close().catch(() => undefined);
    this.volumes.clear();
    this.store.close();
  }
}

/**
 * Makes a new array's management store with its identity (`meta`): made under a temporary name,
 * checkpointed and renamed into place, so a store under the real name is always whole.
 */
function createStore(dir: string, meta: Record<'name' | 'serial' | 'trackSize' | 'durability' | 'access' | 'created', string>): void {
  const tmp = path.join(dir, `${STORE_FILE}.tmp`);
  // the store is made with the array's file mode whatever the umask: SQLite gives its -wal and
  // -shm files the mode of the database file
  const fd = fs.openSync(tmp, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, fileMode());
  fs.fchmodSync(fd, fileMode());
  fs.closeSync(fd);
  const store = ManagementStore.open(tmp, { create: true });
  try {
    store.tx(() => {
      for (const k of ['name', 'serial', 'trackSize', 'durability', 'access', 'created'] as const) store.setMeta(k, meta[k]);
    });
    store.db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    store.close();
  }
  fs.renameSync(tmp, path.join(dir, STORE_FILE));
  for (const ext of ['-wal', '-shm']) fs.rmSync(tmp + ext, { force: true });
}

/** Whether an error (mapped or raw) is a lack of space. */
function isNoSpace(e: unknown): boolean {
  return (e instanceof RcopyError ? e.code : storageError(e)?.code) === 'ERR_RCOPY_NO_SPACE';
}
