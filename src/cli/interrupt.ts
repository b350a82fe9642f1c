/**
 * Ctrl-C (SIGINT) and SIGTERM. A command that started work in a controller registers how to stop
 * it (onInterrupt); the first signal asks that work to stop there and lets the command end as it
 * would (it reports what was done) with status 130. A second signal, or a signal while nothing is
 * registered, ends the command at once with one line and status 130.
 */
let current: { what: string; cancel: () => Promise<void> } | null = null;
let interrupted = false;
let installed = false;

/** True once a signal asked the command's work to stop: the command ends with status 130. */
export function wasInterrupted(): boolean {
  return interrupted;
}

function onSignal(sig: NodeJS.Signals): void {
  if (interrupted || current === null) {
    process.stderr.write(`\nrcopy: interrupted (${sig})${current ? `; ${current.what} may still be stopping (rcopy jobs)` : ''}\n`);
    process.exit(130);
  }
  interrupted = true;
  const c = current;
  process.stderr.write(`\nrcopy: ${sig}: stopping ${c.what} …\n`);
  c.cancel().catch((e: unknown) => {
    process.stderr.write(`rcopy: could not stop ${c.what}: ${(e as Error).message}\n`);
    process.exit(130);
  });
}

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** While the returned function is not called, a signal stops `what` with `cancel`. */
export function onInterrupt(what: string, cancel: () => Promise<void>): () => void {
  const me = { what, cancel };
  current = me;
  return () => {
    if (current === me) current = null;
  };
}
