/** What every part of replication knows of the array it runs in. */
import type { StorageArray } from '../array/array.js';

export interface Site {
  readonly array: StorageArray;
  readonly name: string;
  log(msg: string): void;
  /** A crash point for tests (fault.ts): RCOPY_FAULT=ARRAY:POINT kills this controller here. */
  fault(point: string): void;
  /** A delay point for tests (fault.ts): RCOPY_DELAY=ARRAY:POINT:MS holds this step. */
  delay(point: string): Promise<void>;
  /** Whether a peer array is reached over TCP (another host) rather than on this host. */
  peerIsRemote(name: string): boolean;
}
