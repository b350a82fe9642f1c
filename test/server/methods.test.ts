/**
 * The contract between CLI and controller (src/server/methods.ts): every method's params are
 * checked at the boundary, with the wording of the existing one-line errors, and a request of the
 * wrong shape gets ERR_RCOPY_BAD_REQUEST from a real controller, which lives on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type z } from 'zod';
import { type RcopyError } from '../../src/errors.js';
import { PARAMS, isMethod, type Method } from '../../src/server/methods.js';
import { RpcClient } from '../../src/server/protocol.js';
import { int, paramsError, str } from '../../src/server/validate.js';
import { homeTest } from '../helpers.js';

/** The error a handler's own helper gives for the same value (the wording the CLI has shown). */
function helperError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

function schemaError(m: Method, params: object): RcopyError | null {
  const r = PARAMS[m].safeParse(params);
  return r.success ? null : (paramsError(m, r.error) as RcopyError);
}

test('the schema of a method refuses what its handler refused, with the same code and message', () => {
  const e1 = schemaError('volume.create', { name: '', size: 1 });
  assert.equal(e1?.code, 'ERR_RCOPY_BAD_REQUEST');
  assert.equal(e1?.kind, 'usage');
  assert.equal(
    e1?.message,
    helperError(() => str({ name: '' }, 'name')),
  );
  const e2 = schemaError('volume.create', { name: 'v', size: 0 });
  assert.equal(
    e2?.message,
    helperError(() => int({ size: 0 }, 'size', 1)),
  );
  const e3 = schemaError('repl.readTracks', { volume: 'v', offset: 0, length: 1.5 });
  assert.equal(
    e3?.message,
    helperError(() => int({ length: 1.5 }, 'length', 1, 64 * 1024 * 1024)),
  );
  assert.match(schemaError('pair.create', { pvol: 'A:p', svol: 's', pjournal: 'j', sjournal: 'k', mode: 'fast' })?.message ?? '', /parameter 'mode' must be one of async, sync/);
  assert.match(schemaError('link.set', { peer: 'B', up: 'yes' })?.message ?? '', /parameter 'up' must be true or false/);
  // what the CLI sends passes: absent optional fields, null where the handler read null as absent
  assert.equal(schemaError('pair.create', { pvol: 'A:p', svol: 's', pjournal: 'j', sjournal: 'k', mode: 'async', group: undefined, nocopy: false }), null);
  assert.equal(schemaError('link.set', { peer: 'B', bandwidth: null }), null);
  assert.equal(schemaError('controller.ping', {}), null);
});

test('isMethod knows the contract and nothing else', () => {
  assert.ok(isMethod('pair.split'));
  assert.ok(!isMethod('io.writeFile'));
  assert.ok(!isMethod('toString'));
});

/** Params of the wrong shape for a method: every field it names gets a value of no field's type. */
function wrongShape(m: Method): Record<string, unknown> | null {
  const shape = (PARAMS[m] as unknown as z.ZodObject).shape as Record<string, unknown>;
  const keys = Object.keys(shape);
  if (!keys.length) return null;
  return Object.fromEntries(keys.map((k) => [k, { wrong: [1] }]));
}

homeTest('a real controller refuses params of the wrong shape for every method of the contract, and lives on', async (h) => {
  await h.ok('array', 'create', 'A');
  await h.ok('volume', 'create', 'A:v', '--size', '16M');
  const st = await h.ok('array', 'status', 'A', '--json');
  const before = (await h.ok('io', 'checksum', 'A:v', '--json')).sha256;
  const c = await RpcClient.connect(st.socket, 'A');
  try {
    const tried: string[] = [];
    for (const m of Object.keys(PARAMS) as Method[]) {
      const bad = wrongShape(m);
      if (!bad) continue; // takes no params: any object is its params
      tried.push(m);
      // the wire is untyped: a peer of another version (or anyone on the socket) sends what it likes
      const send = c.call.bind(c) as (m: string, p: unknown) => Promise<unknown>;
      await assert.rejects(send(m, bad), (e: RcopyError) => {
        assert.equal(e.code, 'ERR_RCOPY_BAD_REQUEST', `${m}: ${e.code} ${e.message}`);
        assert.ok(!e.message.includes('\n'), `${m}: one line`);
        return true;
      });
      // and with a required field missing (the empty object), where there is one
      if (!PARAMS[m].safeParse({}).success) await assert.rejects(send(m, {}), { code: 'ERR_RCOPY_BAD_REQUEST' });
    }
    assert.ok(tried.length > 50, `${tried.length} methods tried`);
    const ping = await c.call('controller.ping');
    assert.equal(ping.result.name, 'A');
    assert.equal(ping.result.pid, st.pid);
  } finally {
    c.close();
  }
  assert.equal((await h.ok('io', 'checksum', 'A:v', '--json')).sha256, before, 'nothing changed');
});

/** Compile-time checks of the typed call (never run): a typo in a method, or params of the wrong type, do not build. */
export function typedCalls(c: RpcClient): void {
  // @ts-expect-error no such method
  void c.call('pair.splitt', { id: 'x' });
  // @ts-expect-error id is a string
  void c.call('pair.split', { id: 5 });
  // @ts-expect-error pair.split needs its params
  void c.call('pair.split');
  void c.call('pair.split', { id: 'x', rw: true }).then((r) => r.result.pairs.map((p) => p.state));
}
