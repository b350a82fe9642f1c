/** Types of the administration methods (array.usage, jobs.list/stop), apart from methods.ts to keep it short. */

/** What uses an array, a volume or a journal (array.usage): a delete is refused while any is there. */
export interface ObjectUse {
  kind: 'pair' | 'export' | 'collection';
  /** The pair's id, the export's name, the collection's group. */
  id: string;
  /** How to name it to the user, e.g. `pair A:db -> B:db (PAIR)`. */
  what: string;
  /** The command that ends the use, e.g. `rcopy pair delete A:db`. */
  first: string;
  /** The volume of this array it uses (an export's). */
  volume?: string;
}

/** Work a command started in a controller (src/server/jobs.ts), as jobs.list shows it. */
export interface JobView {
  /** Unique in this controller's life. */
  id: number;
  kind: 'workload' | 'backup' | string;
  /** What it does, e.g. `workload on A:db`. */
  what: string;
  started: number;
  /** A stop was asked (by jobs.stop or because the client went away). */
  stopping: boolean;
}
