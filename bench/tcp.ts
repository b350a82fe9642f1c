/**
 * Issue 18 benchmark: pull + restore of 1 GiB between two homes over TCP + TLS 1.3 on the loopback
 * (127.0.0.2 -> 127.0.0.3, each home knowing the other only as a remote) against the same between
 * two arrays of one home over the Unix socket, in the same run. Each round measures both, the Unix
 * socket first; the report compares the best of RCOPY_BENCH_ROUNDS (default 3) rounds.
 * Target: TCP+TLS at least 0.70 of the Unix-socket figure. Size: RCOPY_BENCH_WRITE (default 1G).
 */
import fs from 'node:fs';
import { BenchHome, GiB, randomFile, report, result, sh, sizeArg, time, type BenchResult } from './lib.js';

/** The secondary pulls `src` (journaled on A while its pull was stopped) until drained. */
function pullRestore(pHome: BenchHome, sHome: BenchHome, wsize: number, src: string): number {
  const jsize = `${Math.ceil((wsize * 1.25) / (1024 * 1024))}M`;
  const vsize = `${Math.ceil(wsize / GiB)}G`;
  for (const [h, v, j] of [
    [pHome, 'A:w', 'A:j1'],
    [sHome, 'B:w', 'B:j2'],
  ] as const) {
    h.rcopy('volume', 'create', v, '--size', vsize);
    h.rcopy('journal', 'create', j, '--size', jsize);
  }
  pHome.rcopy('link', 'add', 'A', 'B');
  pHome.rcopy('pair', 'create', 'A:w', 'B:w', '--journal', 'A:j1,B:j2', '--wait');
  pHome.rcopy('pull', 'stop', 'B:j2');
  pHome.rcopy('io', 'write', 'A:w', '--file', src);
  return time(() => {
    pHome.rcopy('pull', 'start', 'B:j2');
    pHome.rcopy('pair', 'wait', 'B:w', '--drained', '--timeout', '10m');
  });
}

function unixRound(wsize: number, src: string): number {
  const h = new BenchHome();
  try {
    for (const a of ['A', 'B']) h.rcopy('array', 'create', a);
    return pullRestore(h, h, wsize, src);
  } finally {
    h.cleanup();
  }
}

function tcpRound(wsize: number, src: string, pki: string): number {
  const ha = new BenchHome();
  const hb = new BenchHome();
  try {
    const hosts = [
      { h: ha, name: 'A', ip: '127.0.0.2', addr: '' },
      { h: hb, name: 'B', ip: '127.0.0.3', addr: '' },
    ];
    for (const x of hosts) {
      x.h.rcopy('array', 'create', x.name);
      x.addr = x.h.json<{ listening: string }>('array', 'serve', x.name, '--listen', `${x.ip}:0`, '--tls-cert', `${pki}/site.pem`, '--tls-key', `${pki}/site.key`).listening;
      fs.writeFileSync(`${pki}/${x.name}.token`, x.h.rcopy('array', 'token', x.name), { mode: 0o600 });
    }
    ha.rcopy('remote', 'add', 'B', hosts[1]!.addr, '--token-file', `${pki}/B.token`, '--tls-ca', `${pki}/ca.pem`);
    hb.rcopy('remote', 'add', 'A', hosts[0]!.addr, '--token-file', `${pki}/A.token`, '--tls-ca', `${pki}/ca.pem`);
    return pullRestore(ha, hb, wsize, src);
  } finally {
    ha.cleanup();
    hb.cleanup();
  }
}

function makePki(dir: string): void {
  const o = (...a: string[]): void => sh('sh', ['-c', `cd '${dir}' && openssl ${a.join(' ')}`]);
  o('req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=bench-ca');
  o('req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout site.key -out site.csr -subj /CN=bench');
  fs.writeFileSync(`${dir}/san.ext`, 'subjectAltName=IP:127.0.0.2,IP:127.0.0.3\n');
  o('x509 -req -in site.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out site.pem -days 2 -extfile san.ext');
}

export function runTcp(): BenchResult[] {
  const wsize = sizeArg('RCOPY_BENCH_WRITE', GiB);
  const rounds = Math.max(1, Number(process.env.RCOPY_BENCH_ROUNDS ?? 3));
  const files = new BenchHome('rcopy-bench-src-');
  const unix: number[] = [];
  const tcp: number[] = [];
  try {
    const src = files.file('src.bin');
    randomFile(src, wsize);
    makePki(files.dir);
    for (let r = 0; r < rounds; r++) {
      unix.push(unixRound(wsize, src));
      tcp.push(tcpRound(wsize, src, files.dir));
      console.log(`  round ${r + 1}: unix ${unix[r]!.toFixed(3)} s, tcp+tls ${tcp[r]!.toFixed(3)} s, ratio ${(unix[r]! / tcp[r]!).toFixed(2)}`);
    }
  } finally {
    files.cleanup();
  }
  const w = `${Math.round(wsize / (1024 * 1024))}M`;
  return [result(`pull + restore of ${w} between two homes over TCP + TLS 1.3 (loopback)`, Math.min(...tcp), 'the same over the Unix socket', Math.min(...unix), '>= 0.70', `best of ${rounds}`)];
}

if (import.meta.url === `file://${process.argv[1]}`) report(runTcp());
