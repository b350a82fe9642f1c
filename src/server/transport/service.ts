/**
 * The transport service of a controller: the TCP listener as `tcp.json` says (started again with
 * the controller), and the methods `array serve`, `array token` and `array status` call. The
 * service is the only writer of `tcp.json` and `tcp.token`. Its methods are refused over TCP
 * (controller.ts): a remote client cannot read the token or move the listener.
 */
import { E } from '../../errors.js';
import type { HandlerContext, Handlers, Service } from '../handlers.js';
import { checkConfig, readConfig, writeConfig, type ServeConfig } from './config.js';
import { TcpListener } from './listener.js';
import { readOrMakeToken, rotateToken, tokenPath } from './secrets.js';
import type { TransportSeam, TransportStatus } from './types.js';

export class TransportService implements Service {
  readonly name = 'transport';
  private listener: TcpListener | null = null;
  private config: ServeConfig | null = null;
  private token: string | null = null;

  constructor(private readonly ctx: HandlerContext & { transport?: TransportSeam }) {}

  private seam(): TransportSeam {
    if (!this.ctx.transport) throw E.usage('this array has no TCP transport here');
    return this.ctx.transport;
  }

  async start(): Promise<void> {
    const c = readConfig(this.ctx.array.dir);
    if (!c || !this.ctx.transport) return;
    try {
      await this.listen(checkConfig(c));
    } catch (e) {
      this.ctx.log(`cannot listen on tcp ${c.listen} again: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.listener?.close();
    this.listener = null;
  }

  private async listen(c: ServeConfig): Promise<string> {
    const seam = this.seam();
    this.token ??= readOrMakeToken(this.ctx.array.dir);
    const l = new TcpListener(
      {
        name: this.ctx.array.name,
        serveSocket: (s, first, origin) => seam.serveSocket(s, first, origin),
        log: (m) => this.ctx.log(m),
        countBad: (k) => seam.countBad(k),
      },
      () => this.token!,
    );
    const address = await l.listen(c);
    this.listener = l;
    this.config = { ...c, listen: address };
    return address;
  }

  async serve(c: ServeConfig): Promise<TransportStatus> {
    checkConfig(c);
    const before = this.listener;
    this.listener = null;
    before?.close();
    try {
      await this.listen(c);
    } catch (e) {
      if (this.config) await this.listen(this.config).catch(() => undefined);
      const code = (e as NodeJS.ErrnoException).code;
      throw code ? E.usage(`cannot listen on ${c.listen}: ${code}`, code === 'EADDRINUSE' ? 'the port is taken: choose another' : 'check the address is one of this host') : e;
    }
    writeConfig(this.ctx.array.dir, this.config);
    return this.status();
  }

  unserve(): TransportStatus & { stopped: string | null } {
    const stopped = this.listener?.address ?? null;
    this.listener?.close();
    this.listener = null;
    this.config = null;
    writeConfig(this.ctx.array.dir, null);
    return { ...this.status(), stopped };
  }

  tokenOf(rotate: boolean): { token: string; file: string } {
    this.token = rotate ? rotateToken(this.ctx.array.dir) : readOrMakeToken(this.ctx.array.dir);
    if (rotate) this.ctx.log('token rotated');
    return { token: this.token, file: tokenPath(this.ctx.array.dir) };
  }

  status(): TransportStatus {
    const listening = this.listener?.address ?? null;
    return { listening, security: listening ? (this.config?.security ?? null) : null, badInput: { ...(this.ctx.transport?.badInput ?? { auth: 0, frames: 0, requests: 0 }) } };
  }
}

const svc = (ctx: HandlerContext): TransportService => ctx.service<TransportService>('transport');

export const handlers: Handlers = {
  'transport.serve': async (ctx, p) => {
    const c: ServeConfig = { listen: p.listen, security: p.security };
    if (p.cert) c.cert = p.cert;
    if (p.key) c.key = p.key;
    if (p.psk) c.psk = p.psk;
    return svc(ctx).serve(c);
  },
  'transport.unserve': async (ctx) => svc(ctx).unserve(),
  'transport.token': async (ctx, p) => svc(ctx).tokenOf(!!p.rotate),
  'transport.status': async (ctx) => svc(ctx).status(),
};

export const services = [(ctx: HandlerContext): Service => new TransportService(ctx)];
