/**
 * NBD bad input from a raw client: a handshake cut short, garbage after the magic, an unknown
 * option, READ past the end, requests over 64 MiB, an unknown command, bad flags, a broken request
 * magic. Each gets the reply the specification names (or a clean close) and the controller and the
 * other clients go on.
 */
import assert from 'node:assert/strict';
import { homeTest } from '../helpers.js';
import { CMD, CMD_FLAG, NBD_ERR, OPT, REP, REP_ERR } from '../../src/server/nbd/wire.js';
import { connect, exportUri, needs, optReply, option, request, simpleReply, toolOk, transmitting } from './nbd-helpers.js';

const SIZE = 4 * 1024 * 1024;

// long: one scenario after another on the same export, each a few lines
homeTest('bad NBD input gets the error reply or a clean close; the controller and other clients go on', needs('nbdinfo'), async (h) => {
  await h.ok('array', 'create', 'A', '--durability', 'none');
  await h.ok('volume', 'create', 'A:v', '--size', '4M');
  const uri = await exportUri(h, 'A:v');
  const sockPath = new URL(uri).searchParams.get('socket')!;
  const pids = h.pids();

  // a handshake cut short: the client hangs up after the greeting
  const cut = await connect(sockPath);
  cut.sock.destroy();
  // garbage after the magic: unknown client flags, then noise: the server closes
  const garbage = await connect(sockPath);
  garbage.sock.write(Buffer.from('\xff\xff\xff\xffGARBAGEGARBAGE!!', 'latin1'));
  await garbage.closed;
  // a wrong option magic: closed too
  const badOpt = await connect(sockPath);
  badOpt.sock.write(Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.alloc(16, 0x41)]));
  await badOpt.closed;

  // an unknown option is answered with NBD_REP_ERR_UNSUP and the haggling goes on (LIST, ABORT)
  const c = await connect(sockPath);
  c.sock.write(Buffer.concat([Buffer.from([0, 0, 0, 1]), option(99, Buffer.from('x'))]));
  assert.equal((await optReply(c.rd)).type, REP_ERR.UNSUP);
  c.sock.write(option(OPT.STRUCTURED_REPLY, Buffer.from('x')));
  assert.equal((await optReply(c.rd)).type, REP_ERR.INVALID, 'STRUCTURED_REPLY with data is invalid');
  c.sock.write(option(OPT.LIST));
  const srv = await optReply(c.rd);
  assert.equal(srv.type, REP.SERVER);
  assert.equal(srv.data.toString('utf8', 4), 'v');
  assert.equal((await optReply(c.rd)).type, REP.ACK);
  c.sock.write(option(OPT.ABORT));
  assert.equal((await optReply(c.rd)).type, REP.ACK);
  await c.closed;

  // transmission: each bad request gets its error, the next request is served
  const t = await transmitting(sockPath);
  t.sock.write(request(CMD.READ, SIZE - 512, 1024, 0, 2));
  assert.equal(await simpleReply(t.rd, 2), NBD_ERR.EINVAL, 'READ past the end');
  t.sock.write(request(CMD.WRITE, SIZE - 512, 1024, 0, 3));
  t.sock.write(Buffer.alloc(1024, 1));
  assert.equal(await simpleReply(t.rd, 3), NBD_ERR.ENOSPC, 'WRITE past the end');
  t.sock.write(request(CMD.READ, 0, 65 * 1024 * 1024, 0, 4));
  assert.equal(await simpleReply(t.rd, 4), NBD_ERR.EINVAL, 'a READ over 64 MiB');
  t.sock.write(request(CMD.WRITE, 0, 65 * 1024 * 1024, 0, 5));
  t.sock.write(Buffer.alloc(65 * 1024 * 1024, 2));
  assert.equal(await simpleReply(t.rd, 5), NBD_ERR.EINVAL, 'a WRITE over 64 MiB (its payload read and dropped)');
  t.sock.write(request(42, 0, 512, 0, 6));
  assert.equal(await simpleReply(t.rd, 6), NBD_ERR.EINVAL, 'an unknown command');
  t.sock.write(request(CMD.READ, 0, 512, CMD_FLAG.FUA, 7));
  assert.equal(await simpleReply(t.rd, 7), NBD_ERR.EINVAL, 'a flag READ does not take');
  t.sock.write(request(CMD.BLOCK_STATUS, 0, 512, 0, 8));
  assert.equal(await simpleReply(t.rd, 8), NBD_ERR.EINVAL, 'BLOCK_STATUS without a meta context');
  t.sock.write(Buffer.concat([request(CMD.WRITE, 512, 4, CMD_FLAG.FUA, 9), Buffer.from('rcpy')]));
  assert.equal(await simpleReply(t.rd, 9), 0);
  t.sock.write(request(CMD.READ, 512, 4, 0, 10));
  assert.equal(await simpleReply(t.rd, 10), 0);
  assert.equal((await t.rd.read(4)).toString(), 'rcpy');
  // a broken request magic: the stream cannot be followed, the server closes
  t.sock.write(Buffer.alloc(28, 0x55));
  await t.closed;

  // the controller and the export go on
  assert.deepEqual(h.pids(), pids, 'the same controller');
  await h.ok('io', 'write', 'A:v', '--pattern', '0x42', '--length', '4k');
  assert.match(await toolOk(['nbdinfo', uri]), /export-size: 4194304/);
  const list = await h.ok('export', 'list', 'A', '--json');
  assert.equal(list[0].clients, 0);
  assert.ok(list[0].bytesWritten >= 4);
});

homeTest('structured replies: an error chunk for a bad READ, BLOCK_STATUS with REQ_ONE gives one extent, SET_META_CONTEXT needs them first', async (h) => {
  await h.ok('array', 'create', 'A', '--durability', 'none');
  await h.ok('volume', 'create', 'A:v', '--size', '4M');
  await h.ok('io', 'write', 'A:v', '--offset', '64k', '--pattern', '0x42', '--length', '128k');
  const uri = await exportUri(h, 'A:v');
  const c = await connect(new URL(uri).searchParams.get('socket')!);
  const meta = Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from('v'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 15]), Buffer.from('base:allocation')]);
  c.sock.write(Buffer.concat([Buffer.from([0, 0, 0, 3]), option(OPT.SET_META_CONTEXT, meta)]));
  assert.equal((await optReply(c.rd)).type, REP_ERR.INVALID, 'no meta context before structured replies');
  c.sock.write(option(OPT.STRUCTURED_REPLY));
  assert.equal((await optReply(c.rd)).type, REP.ACK);
  c.sock.write(option(OPT.SET_META_CONTEXT, meta));
  const ctx = await optReply(c.rd);
  assert.equal(ctx.type, REP.META_CONTEXT);
  assert.equal(ctx.data.toString('utf8', 4), 'base:allocation');
  assert.equal((await optReply(c.rd)).type, REP.ACK);
  c.sock.write(option(OPT.GO, Buffer.from([0, 0, 0, 1, 0x76, 0, 0])));
  while ((await optReply(c.rd)).type !== REP.ACK);
  const chunk = async (cookie: number): Promise<{ flags: number; type: number; data: Buffer }> => {
    const hd = await c.rd.read(20);
    assert.equal(hd.readUInt32BE(0), 0x668e33ef);
    assert.equal(Number(hd.readBigUInt64BE(8)), cookie);
    return { flags: hd.readUInt16BE(4), type: hd.readUInt16BE(6), data: await c.rd.read(hd.readUInt32BE(16)) };
  };
  c.sock.write(request(CMD.READ, SIZE, 1, 0, 1));
  const err = await chunk(1);
  assert.equal(err.type, (1 << 15) + 1, 'an error chunk');
  assert.equal(err.flags & 1, 1, 'with DONE');
  assert.equal(err.data.readUInt32BE(0), NBD_ERR.EINVAL);
  // tracks of 64 KiB: 0 a hole, 1-2 data, 3.. holes
  c.sock.write(request(CMD.BLOCK_STATUS, 0, SIZE, 0, 2));
  const all = await chunk(2);
  assert.equal(all.type, 5);
  const ext = (b: Buffer): number[][] => Array.from({ length: (b.length - 4) / 8 }, (_, i) => [b.readUInt32BE(4 + 8 * i), b.readUInt32BE(8 + 8 * i)]);
  assert.deepEqual(ext(all.data), [
    [65536, 3],
    [131072, 0],
    [SIZE - 196608, 3],
  ]);
  c.sock.write(request(CMD.BLOCK_STATUS, 70_000, SIZE - 70_000, CMD_FLAG.REQ_ONE, 3));
  assert.deepEqual(ext((await chunk(3)).data), [[196608 - 70_000, 0]]);
  c.sock.write(request(CMD.READ, 65536, 8, 0, 4));
  const data = await chunk(4);
  assert.equal(data.type, 1);
  assert.equal(Number(data.data.readBigUInt64BE(0)), 65536);
  assert.ok(data.data.subarray(8).equals(Buffer.alloc(8, 0x42)));
  c.sock.write(request(CMD.DISC, 0, 0, 0, 5));
  await c.closed;
});
