/**
 * The TCP transport between two homes: serve and token, remotes, commands on a remote array, and
 * what is refused (a wrong token, a slow handshake, plaintext where TLS is required, a certificate
 * of another CA, plaintext off the loopback) and bad input from the network, counted and harmless.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { homeTest, waitFor } from '../helpers.js';
import { extraHome, makeHost, makePki, meshRemotes, type Host } from './tcp-hosts.js';

function hostPort(a: string): { host: string; port: number } {
  const i = a.lastIndexOf(':');
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
}

async function badInput(h: Host): Promise<{ auth: number; frames: number; requests: number }> {
  return (await h.home.ok('array', 'status', h.array, '--json')).tcp.badInput;
}

homeTest('TLS: serve, token, remote add, volumes and io on a remote array; restart listens again', async (h0) => {
  const pki = makePki(h0.tempDir());
  const a = await makeHost(h0, 'A', '127.0.0.2', pki, 'tls');
  const b = await makeHost(extraHome(h0), 'B', '127.0.0.3', pki, 'tls');
  await meshRemotes([a, b], pki, 'tls');
  // the token: private, 64 hex digits, never in --json, rotate gives another
  const tokFile = path.join(h0.dir, 'arrays', 'A', 'tcp.token');
  assert.equal(fs.statSync(tokFile).mode & 0o777, 0o600);
  const tok = fs.readFileSync(tokFile, 'utf8').trim();
  assert.match(tok, /^[0-9a-f]{64}$/);
  assert.ok(!JSON.stringify(await h0.ok('array', 'token', 'A', '--json')).includes(tok));
  assert.ok(!(await h0.ok('remote', 'list', '--json', '--format', 'json')).toString().includes(tok));
  assert.equal(fs.statSync(path.join(b.home.dir, 'remotes', 'A.json')).mode & 0o777, 0o600);
  const shown = await b.home.ok('remote', 'show', 'A', '--json');
  assert.equal(shown.reachable, true);
  assert.ok(!JSON.stringify(shown).includes(tok));
  // from B's home: volumes, journals and io on A, over TCP only
  await b.home.ok('volume', 'create', 'A:v', '--size', '8M');
  await b.home.ok('journal', 'create', 'A:j', '--size', '16M');
  assert.deepEqual(
    (await b.home.ok('volume', 'list', 'A', '--json')).map((v: { name: string }) => v.name),
    ['v'],
  );
  assert.deepEqual(
    (await b.home.ok('journal', 'list', 'A', '--json')).map((j: { name: string }) => j.name),
    ['j'],
  );
  const data = path.join(pki.dir, 'data.bin');
  fs.writeFileSync(data, Buffer.alloc(3 * 1024 * 1024, 0x5a));
  await b.home.ok('io', 'write', 'A:v', '--file', data, '--offset', '1M');
  const out = path.join(pki.dir, 'out.bin');
  await b.home.ok('io', 'read', 'A:v', '--offset', '1M', '--length', '3M', '--out', out);
  assert.ok(fs.readFileSync(out).equals(fs.readFileSync(data)));
  const remoteSum = (await b.home.ok('io', 'checksum', 'A:v', '--json')).sha256;
  assert.equal(remoteSum, (await h0.ok('io', 'checksum', 'A:v', '--json')).sha256);
  // a pair the other way round, made from B's home: P-VOL on the remote A, S-VOL local
  await b.home.ok('volume', 'create', 'B:v', '--size', '8M');
  await b.home.ok('journal', 'create', 'B:j', '--size', '16M');
  await b.home.ok('link', 'add', 'B', 'A');
  await b.home.ok('pair', 'create', 'A:v', 'B:v', '--journal', 'A:j,B:j', '--wait', '--timeout', '120s');
  assert.equal((await b.home.ok('io', 'checksum', 'B:v', '--json')).sha256, remoteSum);
  assert.equal((await h0.ok('pair', 'show', 'A:v', '--json')).primary.state, 'PAIR');
  // the listener and the token are managed on the array's host only
  await b.home.fails(2, 'ERR_RCOPY_NO_ARRAY', 'array', 'token', 'A');
  // a restarted controller listens again on the same address
  await h0.ok('array', 'stop', 'A');
  await h0.ok('array', 'start', 'A');
  assert.equal((await h0.ok('array', 'status', 'A', '--json')).tcp.listening, a.address);
  assert.equal((await b.home.ok('io', 'checksum', 'A:v', '--json')).sha256, remoteSum);
  // --rotate: the old token is refused from then on
  await h0.ok('array', 'token', 'A', '--rotate');
  await b.home.fails(4, 'ERR_RCOPY_AUTH', 'volume', 'list', 'A');
  await h0.ok('array', 'serve', 'A', '--stop');
  assert.equal((await h0.ok('array', 'status', 'A', '--json')).tcp.listening, null);
  await b.home.fails(4, /ERR_RCOPY_PEER.*connection refused/, 'volume', 'list', 'A');
});

homeTest('refused: wrong token, slow handshake, plaintext to TLS, another CA, plaintext off loopback', async (h0) => {
  const pki = makePki(h0.tempDir());
  const a = await makeHost(h0, 'A', '127.0.0.2', pki, 'tls');
  const hb = extraHome(h0);
  // a wrong token: refused at remote add (nothing kept), logged without the token
  const bad = path.join(pki.dir, 'bad.token');
  fs.writeFileSync(bad, `${'0'.repeat(64)}\n`);
  await hb.fails(4, 'ERR_RCOPY_AUTH', 'remote', 'add', 'A', a.address, '--token-file', bad, '--tls-ca', pki.ca);
  assert.equal((await hb.ok('remote', 'list', '--json')).length, 0);
  // plaintext to a TLS listener
  await hb.fails(4, 'ERR_RCOPY_AUTH', 'remote', 'add', 'A', a.address, '--token-file', a.tokenFile);
  // a certificate from another CA
  await hb.fails(4, 'ERR_RCOPY_AUTH', 'remote', 'add', 'A', a.address, '--token-file', a.tokenFile, '--tls-ca', pki.otherCa);
  // plaintext is refused off the loopback, on both sides
  await h0.fails(2, /ERR_RCOPY_USAGE.*loopback/, 'array', 'serve', 'A', '--listen', '0.0.0.0:0', '--insecure');
  await hb.fails(2, /ERR_RCOPY_USAGE.*loopback/, 'remote', 'add', 'A', '192.0.2.1:7400', '--token-file', a.tokenFile, '--no-check');
  // a client that says nothing is cut off after the handshake timeout
  const before = (await badInput(a)).auth;
  const { host, port } = hostPort(a.address);
  const silent = net.connect({ host, port });
  silent.on('error', () => undefined);
  const closed = new Promise<void>((r) => silent.on('close', () => r()));
  await closed;
  await waitFor(async () => (await badInput(a)).auth >= before + 1, 30_000);
  const log = fs.readFileSync(path.join(h0.dir, 'arrays', 'A', 'controller.log'), 'utf8');
  assert.match(log, /refused: wrong token/);
  assert.match(log, /refused: TLS/);
  assert.ok(!log.includes(fs.readFileSync(a.tokenFile, 'utf8').trim()), 'the token is in the log');
  // with the right token and CA: accepted
  await hb.ok('remote', 'add', 'A', a.address, '--token-file', a.tokenFile, '--tls-ca', pki.ca);
});

/** A raw TCP client speaking the frame format by hand (the tests' bad peer). */
class RawPeer {
  private buf = Buffer.alloc(0);
  readonly closed: Promise<void>;
  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d) => (this.buf = Buffer.concat([this.buf, d])));
    sock.on('error', () => undefined);
    this.closed = new Promise((r) => sock.on('close', () => r()));
  }
  static async open(address: string): Promise<RawPeer> {
    const s = net.connect(hostPort(address));
    await new Promise((r) => s.once('connect', r));
    return new RawPeer(s);
  }
  static frame(header: unknown, payloadLen = 0): Buffer {
    const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
    const pre = Buffer.alloc(8);
    pre.writeUInt32BE(h.length, 0);
    pre.writeUInt32BE(payloadLen, 4);
    return Buffer.concat([pre, h, Buffer.alloc(payloadLen)]);
  }
  send(b: Buffer): void {
    this.sock.write(b);
  }
  /** The next whole frame's header. */
  async next(): Promise<{ e?: { code: string }; auth?: string }> {
    await waitFor(() => this.buf.length >= 8 && this.buf.length >= 8 + this.buf.readUInt32BE(0) + this.buf.readUInt32BE(4), 20_000, 20);
    const hl = this.buf.readUInt32BE(0);
    const pl = this.buf.readUInt32BE(4);
    const h = JSON.parse(this.buf.subarray(8, 8 + hl).toString());
    this.buf = this.buf.subarray(8 + hl + pl);
    return h;
  }
}

homeTest('bad input from the network: error replies or a closed connection, counted, nothing changed', async (h0) => {
  const pki = makePki(h0.tempDir());
  const a = await makeHost(h0, 'A', '127.0.0.2', pki, 'insecure');
  const token = fs.readFileSync(a.tokenFile, 'utf8').trim();
  await h0.ok('volume', 'create', 'A:v', '--size', '4M');
  const sum = (await h0.ok('io', 'checksum', 'A:v', '--json')).sha256;
  // before the token: a huge first frame is refused without being read
  const p0 = await RawPeer.open(a.address);
  p0.send(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
  assert.equal((await p0.next()).e?.code, 'ERR_RCOPY_AUTH');
  await p0.closed;
  // a request instead of the token: refused, not run
  const p1 = await RawPeer.open(a.address);
  p1.send(RawPeer.frame({ id: 1, m: 'volume.delete', p: { name: 'v' } }));
  assert.equal((await p1.next()).e?.code, 'ERR_RCOPY_AUTH');
  await p1.closed;
  // after the token: unknown method, wrong param types, a payload of the wrong kind
  const p = await RawPeer.open(a.address);
  p.send(RawPeer.frame({ auth: token, v: 1 }));
  assert.equal((await p.next()).auth, 'ok');
  p.send(RawPeer.frame({ id: 1, m: 'volume.explode', p: {} }));
  assert.equal((await p.next()).e?.code, 'ERR_RCOPY_BAD_REQUEST');
  p.send(RawPeer.frame({ id: 2, m: 'volume.create', p: { name: 'w', size: 'huge' } }));
  assert.equal((await p.next()).e?.code, 'ERR_RCOPY_BAD_REQUEST');
  p.send(RawPeer.frame({ id: 3, m: 'io.write', p: { volume: 'v', offset: -5 } }, 4096));
  assert.equal((await p.next()).e?.code, 'ERR_RCOPY_BAD_REQUEST');
  p.send(RawPeer.frame({ id: 4, m: 'transport.token', p: { rotate: true } }));
  assert.equal((await p.next()).e?.code, 'ERR_RCOPY_BAD_REQUEST');
  // a header that is not JSON closes the connection
  p.send(RawPeer.frame('{not json'));
  await p.closed;
  // a frame larger than the protocol allows closes it too
  const q = await RawPeer.open(a.address);
  q.send(RawPeer.frame({ auth: token, v: 1 }));
  assert.equal((await q.next()).auth, 'ok');
  q.send(Buffer.from([0, 0, 0, 2, 0x7f, 0xff, 0xff, 0xff]));
  await q.closed;
  const bad = await badInput(a);
  assert.ok(bad.auth >= 2, `auth ${bad.auth}`);
  assert.ok(bad.requests >= 4, `requests ${bad.requests}`);
  assert.ok(bad.frames >= 2, `frames ${bad.frames}`);
  assert.match(await h0.ok('array', 'status', 'A'), /bad input: \d+ refused handshakes, \d+ bad frames, \d+ bad requests/);
  // nothing changed: the same volumes, the same data, the same token
  assert.deepEqual(
    (await h0.ok('volume', 'list', 'A', '--json')).map((v: { name: string }) => v.name),
    ['v'],
  );
  assert.equal((await h0.ok('io', 'checksum', 'A:v', '--json')).sha256, sum);
  assert.equal(fs.readFileSync(a.tokenFile, 'utf8').trim(), token);
  assert.equal(fs.readFileSync(path.join(h0.dir, 'arrays', 'A', 'tcp.token'), 'utf8').trim(), token);
});
