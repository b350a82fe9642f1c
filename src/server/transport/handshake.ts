/**
 * The first frame of every TCP connection: the client's token, before anything else.
 *
 *   client → server   { auth: TOKEN, v: 1 }            (a frame of protocol.ts, no payload)
 *   server → client   { auth: "ok", name: ARRAY }      then the connection carries requests
 *                     { e: { code: ERR_RCOPY_AUTH } }  then the server closes it
 *
 * Until the token is checked the server reads at most 8 + MAX_AUTH_HEADER bytes and acts on none
 * of them; a frame that announces more, has a payload, is not JSON, or does not come within the
 * timeout closes the connection. The token is never logged, nor sent back in an error.
 */
import type net from 'node:net';
import { E, RcopyError, type RcopyErrorJSON } from '../../errors.js';
import { FrameDecoder, encodeFrame, writeFrame } from '../protocol.js';

export const MAX_AUTH_HEADER = 1024;
export const PROTOCOL_VERSION = 1;

export type AuthOutcome = { ok: true; rest: Buffer } | { ok: false; why: string };

/** Server side: waits for the token frame; resolves with the bytes after it, or why it refused. */
export function awaitToken(sock: net.Socket, check: (token: string) => boolean, name: string, timeoutMs: number): Promise<AuthOutcome> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (o: AuthOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      if (o.ok) writeFrame(sock, encodeFrame({ auth: 'ok', name, v: PROTOCOL_VERSION }));
      else {
        const e = E.auth('authentication refused').toJSON();
        if (!sock.destroyed) sock.end(Buffer.concat(encodeFrame({ id: 0, e })));
        setTimeout(() => sock.destroy(), 1000).unref();
      }
      resolve(o);
    };
    const timer = setTimeout(() => finish({ ok: false, why: `no token within ${timeoutMs} ms` }), timeoutMs);
    const onClose = (): void => finish({ ok: false, why: 'closed before sending a token' });
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 8) return;
      const hl = buf.readUInt32BE(0);
      const pl = buf.readUInt32BE(4);
      if (hl > MAX_AUTH_HEADER || pl !== 0) return finish({ ok: false, why: `a first frame of ${hl}+${pl} bytes is not a token` });
      if (buf.length < 8 + hl) return;
      let h: unknown;
      try {
        h = JSON.parse(buf.subarray(8, 8 + hl).toString('utf8'));
      } catch {
        return finish({ ok: false, why: 'the first frame is not JSON' });
      }
      const token = (h as { auth?: unknown } | null)?.auth;
      if (typeof token !== 'string') return finish({ ok: false, why: 'the first frame carries no token' });
      if (!check(token)) return finish({ ok: false, why: 'wrong token' });
      finish({ ok: true, rest: buf.subarray(8 + hl) });
    };
    sock.on('data', onData);
    sock.on('close', onClose);
  });
}

/** Client side: sends the token and waits for the server's answer (the array's name). */
export function sendToken(sock: net.Socket, token: string, label: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const dec = new FrameDecoder();
    let done = false;
    const finish = (e: Error | null, name?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      sock.off('error', onError);
      if (e) {
        sock.destroy();
        reject(e);
      } else resolve(name!);
    };
    const timer = setTimeout(() => finish(E.connection(`${label}: no answer to the token within ${timeoutMs} ms`)), timeoutMs);
    const onClose = (): void => finish(E.auth(`${label} closed the connection during authentication`, 'check that both sides use the same transport security (TLS, PSK or plaintext)'));
    const onError = (err: Error): void => finish(E.connection(`connection to ${label} failed: ${err.message}`));
    const onData = (chunk: Buffer): void => {
      let frames;
      try {
        frames = dec.push(chunk);
      } catch (e) {
        return finish(e as Error);
      }
      const f = frames[0];
      if (!f) return;
      if (f.header.e) {
        const j = f.header.e as RcopyErrorJSON;
        return finish(
          new RcopyError('ERR_RCOPY_AUTH', `${label}: ${j.message}`, { kind: 'peer', hint: "the token is wrong: print it on the array's host (rcopy array token NAME) and add the remote again" }),
        );
      }
      if (f.header.auth !== 'ok' || typeof f.header.name !== 'string') return finish(E.auth(`${label} did not answer as an rcopy controller`));
      finish(null, f.header.name);
    };
    sock.on('data', onData);
    sock.on('close', onClose);
    sock.on('error', onError);
    writeFrame(sock, encodeFrame({ auth: token, v: PROTOCOL_VERSION }));
  });
}
