/**
 * Pair states and the one function that changes them. Each side of a pair keeps its own record;
 * the primary (role P) and the secondary (role S) show the state from their side.
 */
import { E } from '../../errors.js';

export type PairState =
  | 'SMPL' // not paired (a deleted pair; never stored)
  | 'COPY' // initial copy or resync running; host writes are journaled and applied after
  | 'PAIR' // journal mode: every host write goes through the journal to the S-VOL
  | 'PFUL' // PAIR with the journal over its high-water mark (80%): still replicating, warned
  | 'PSUS' // primary side of a planned split: changes go to the differential bitmap
  | 'SSUS' // secondary side of a suspension: the S-VOL holds a consistent image
  | 'PSUE' // suspended by error (link down past the path-blockade watch time, an interrupted resync)
  | 'PFUS' // suspended because the journal was full (or over its mark past the overflow watch time)
  | 'SSWS'; // secondary side after takeover: the S-VOL is the writable one

export type Role = 'P' | 'S';

export const JOURNALING: ReadonlySet<PairState> = new Set(['COPY', 'PAIR', 'PFUL']);
/** The secondary's state that mirrors a suspension on the primary. */
export const MIRROR: Partial<Record<PairState, PairState>> = { PSUS: 'SSUS', PSUE: 'PSUE', PFUS: 'PFUS' };

/** The states in which a group pulls and restores (COPY pulls nothing: the copy runs). */
export const PULLING: ReadonlySet<PairState> = new Set(['PAIR', 'PFUL']);
export const SUSPENDED: ReadonlySet<PairState> = new Set(['PSUS', 'SSUS', 'PSUE', 'PFUS', 'SSWS']);

/** Which moves are legal, from → to. */
const MOVES: Record<PairState, PairState[]> = {
  SMPL: ['COPY', 'PAIR'],
  COPY: ['PAIR', 'PFUL', 'PSUS', 'SSUS', 'PSUE', 'PFUS', 'SSWS'],
  PAIR: ['PFUL', 'PSUS', 'SSUS', 'PSUE', 'PFUS', 'SSWS', 'COPY'],
  PFUL: ['PAIR', 'PSUS', 'SSUS', 'PSUE', 'PFUS', 'SSWS'],
  PSUS: ['COPY', 'PSUE', 'PSUS', 'SSUS', 'SSWS'],
  SSUS: ['COPY', 'SSWS', 'PSUE', 'SSUS', 'PSUS'],
  PSUE: ['COPY', 'SSWS', 'PSUE', 'PSUS', 'SSUS'],
  PFUS: ['COPY', 'SSWS', 'PSUE', 'PFUS', 'PSUS', 'SSUS'],
  SSWS: ['COPY', 'SSWS', 'PSUS', 'SSUS'],
};

export function checkMove(pair: string, from: PairState, to: PairState): void {
  if (from === to) return;
  if (!MOVES[from]?.includes(to)) {
    throw E.state(`pair ${pair} cannot go from ${from} to ${to}`, nextCommand(from, pair));
  }
}

/** What an administrator can do next from a state (used in every refusal). */
export function nextCommand(state: PairState, pair: string): string {
  switch (state) {
    case 'COPY':
      return `wait for the copy: rcopy pair wait ${pair} --state PAIR`;
    case 'PAIR':
    case 'PFUL':
      return `split it first: rcopy pair split ${pair}`;
    case 'PSUS':
    case 'SSUS':
    case 'PSUE':
    case 'PFUS':
      return `resynchronise it: rcopy pair resync ${pair}`;
    case 'SSWS':
      return `reverse the direction: rcopy pair resync ${pair} --swap`;
    default:
      return `create a pair: rcopy pair create P-ARRAY:VOL S-ARRAY:VOL --journal P-ARRAY:J,S-ARRAY:J`;
  }
}
