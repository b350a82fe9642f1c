/**
 * Block records written out in the published column layouts of the trace formats added for issue 22
 * (where each comes from: the comment at the top of its reader in src/engine/stats/traces/), for the
 * importer tests and the trace-reader fuzz seeds. A record's time is epoch microseconds.
 */
import { createHash } from 'node:crypto';

export interface LayoutRec {
  /** Epoch microseconds. */
  us: bigint;
  device: string;
  write: boolean;
  /** Bytes; multiples of 512 for the sector-based layouts. */
  offset: number;
  size: number;
}

const sec = (us: bigint): string => `${us / 1_000_000n}.${String(us % 1_000_000n).padStart(6, '0')}`;

/** `device_id,opcode,offset,length,timestamp` (µs). */
export const asAlibaba = (rs: LayoutRec[]): string => rs.map((r) => `${r.device},${r.write ? 'W' : 'R'},${r.offset},${r.size},${r.us}\n`).join('');

/** `timestamp,offset,size,type,volume_id` (s, sectors, sectors, 0 read / 1 write). */
export const asTencent = (rs: LayoutRec[]): string => rs.map((r) => `${r.us / 1_000_000n},${r.offset / 512},${r.size / 512},${r.write ? 1 : 0},${r.device}\n`).join('');

/** `Timestamp,Response,IOType,LUN,Offset,Size` with its header (s with a fraction; LUN a number). */
export const asSystor = (rs: LayoutRec[]): string =>
  `Timestamp,Response,IOType,LUN,Offset,Size\n${rs.map((r) => `${sec(r.us)},0.000${r.size % 997},${r.write ? 'W' : 'R'},${r.device},${r.offset},${r.size}\n`).join('')}`;

/** `version,time,op,size,lbn` (µs, SCSI WRITE(10) 0x2A / READ(10) 0x28, bytes, 512-byte blocks). */
export const asCloudPhysics = (rs: LayoutRec[]): string =>
  `version,time,op,size,lbn\n${rs.map((r, i) => `2,${r.us},${r.write ? (i % 2 ? '0x2a' : '42') : '40'},${r.size},${r.offset / 512}\n`).join('')}`;

/** `ts pid process lba size op major minor md5` (ns, sectors, 512-byte blocks); the content digest from `content(r)`. */
export const asFiu = (rs: LayoutRec[], content: (r: LayoutRec) => string = (r) => String(r.offset)): string =>
  rs.map((r) => `${r.us * 1000n} 4321 kjournald ${r.offset / 512} ${r.size / 512} ${r.write ? 'W' : 'R'} 8 ${r.device} ${createHash('md5').update(content(r)).digest('hex')}\n`).join('');
