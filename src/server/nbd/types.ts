/** What the contract (methods.ts) and the CLI know of an NBD export; no imports, so no cycle through the registry. */

/** An export as kept in the array's state. */
export interface ExportRecord {
  name: string;
  volume: string;
  /** A Unix socket path, or null for a TCP export. */
  socket: string | null;
  /** host:port of a TCP export, or null. */
  listen: string | null;
  readOnly: boolean;
  /** The PSK file (absolute) of an export that requires TLS, or null; read again at every start. */
  tlsPsk: string | null;
  created: number;
}

/** An export as `export list` shows it. */
export interface ExportView extends ExportRecord {
  array: string;
  uri: string;
  serving: boolean;
  error: string | null;
  clients: number;
  bytesRead: number;
  bytesWritten: number;
  /** export start found the export running with the same options (a re-run). */
  already?: boolean;
}
