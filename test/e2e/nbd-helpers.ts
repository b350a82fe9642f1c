/** What the NBD tests share: the real clients (libnbd-bin, qemu-utils, fio), an export's URI, random images. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runProcess, type RunResult, type TestHome } from '../helpers.js';
import { IHAVEOPT, OPT, OPT_REPLY_MAGIC, REP, REQUEST_MAGIC, SIMPLE_REPLY_MAGIC, SocketReader } from '../../src/server/nbd/wire.js';

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

// ---------------------------------------------------------------- a raw NBD client (bad input, exact timing)

/** A raw client: connected, the greeting read. */
export async function connect(sockPath: string): Promise<{ sock: net.Socket; rd: SocketReader; closed: Promise<void> }> {
  const sock = net.connect(sockPath);
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  sock.on('error', () => undefined);
  const rd = new SocketReader(sock);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const hello = await rd.read(18);
  assert.equal(hello.toString('latin1', 0, 8), 'NBDMAGIC');
  return { sock, rd, closed };
}

export function option(opt: number, data = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(IHAVEOPT, 0);
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(data.length, 12);
  return Buffer.concat([h, data]);
}

export async function optReply(rd: SocketReader): Promise<{ opt: number; type: number; data: Buffer }> {
  const h = await rd.read(20);
  assert.equal(h.readBigUInt64BE(0), OPT_REPLY_MAGIC);
  return { opt: h.readUInt32BE(8), type: h.readUInt32BE(12), data: await rd.read(h.readUInt32BE(16)) };
}

export function request(type: number, offset: number, length: number, flags = 0, cookie = 1): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt32BE(REQUEST_MAGIC, 0);
  b.writeUInt16BE(flags, 4);
  b.writeUInt16BE(type, 6);
  b.writeBigUInt64BE(BigInt(cookie), 8);
  b.writeBigUInt64BE(BigInt(offset), 16);
  b.writeUInt32BE(length, 24);
  return b;
}

export async function simpleReply(rd: SocketReader, cookie: number): Promise<number> {
  const h = await rd.read(16);
  assert.equal(h.readUInt32BE(0), SIMPLE_REPLY_MAGIC);
  assert.equal(Number(h.readBigUInt64BE(8)), cookie);
  return h.readUInt32BE(4);
}

/** Through the handshake with GO (no structured replies: simple replies). */
export async function transmitting(sockPath: string, exportName = 'v'): Promise<{ sock: net.Socket; rd: SocketReader; closed: Promise<void> }> {
  const c = await connect(sockPath);
  const name = Buffer.from(exportName);
  const go = Buffer.alloc(4 + name.length + 2);
  go.writeUInt32BE(name.length, 0);
  name.copy(go, 4);
  c.sock.write(Buffer.concat([Buffer.from([0, 0, 0, 3]), option(OPT.GO, go)]));
  for (;;) {
    const r = await optReply(c.rd);
    if (r.type === REP.ACK) return c;
    assert.equal(r.type, REP.INFO);
  }
}
