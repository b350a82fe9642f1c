/** rcopy array check NAME: every integrity check of an array on demand. */
import { E } from '../../errors.js';
import type { CliContext } from '../context.js';
import type { Output } from '../render/output.js';
import { call, pickArray } from './common.js';

type Args = Array<string | string[] | undefined>;

export async function check(ctx: CliContext, [nameArg]: Args): Promise<Output> {
  const name = await pickArray(ctx, nameArg as string | undefined);
  let r: { array: string; ok: boolean; findings: Array<{ what: string; problem: string }> };
  try {
    r = await call(ctx, name, 'array.check');
  } catch (e) {
    // a controller that refuses to start over a damaged store has named the table and row
    if ((e as { code?: string }).code === 'ERR_RCOPY_CONTROLLER_START') throw E.integrity(`${(e as Error).message}`, (e as { hint?: string }).hint);
    throw e;
  }
  const text = r.ok ? `${name}: every check passed` : r.findings.map((f) => `${name}: ${f.what}: ${f.problem}`).join('\n');
  return { data: r, text, exitCode: r.ok ? 0 : 3 };
}
