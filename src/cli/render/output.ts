/**
 * What a command returns, and the pure renderers from that data to text: table (cli-table3),
 * JSON, YAML and CSV. Command modules never print their result themselves.
 */
export type Cell = string | number | boolean | null | undefined;

export interface Output {
  /** The machine-readable result (JSON/YAML). */
  data?: unknown;
  /** Rows for table and CSV output. */
  table?: { head: string[]; rows: Cell[][] };
  /** Human text printed instead of (or after) the table on the default format. */
  text?: string;
  /** Text printed after the table. */
  footer?: string;
  exitCode?: number;
}

export type Format = 'table' | 'json' | 'yaml' | 'csv';

/** A time in ms as ISO 8601 text, '' for none. */
export function iso(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString() : '';
}

export async function render(out: Output, format: Format, color: boolean): Promise<string> {
  switch (format) {
    case 'json':
      return JSON.stringify(out.data ?? null, null, 2);
    case 'yaml': {
      const YAML = (await import('yaml')).default;
      return YAML.stringify(out.data ?? null).trimEnd();
    }
    case 'csv':
      if (out.table) return toCsv(out.table.head, out.table.rows);
      if (Array.isArray(out.data) && out.data.every((x) => x && typeof x === 'object')) {
        const rows = out.data as Record<string, unknown>[];
        const head = [...new Set(rows.flatMap((r) => Object.keys(r)))];
        return toCsv(
          head,
          rows.map((r) => head.map((h) => scalar(r[h]))),
        );
      }
      return toCsv(['value'], [[JSON.stringify(out.data)]]);
    default: {
      const parts: string[] = [];
      if (out.table) parts.push(await toTable(out.table.head, out.table.rows, color));
      if (out.text !== undefined) parts.push(out.text);
      if (!out.table && out.text === undefined && out.data !== undefined) {
        const YAML = (await import('yaml')).default;
        parts.push(YAML.stringify(out.data).trimEnd());
      }
      if (out.footer) parts.push(out.footer);
      return parts.join('\n');
    }
  }
}

function scalar(v: unknown): Cell {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return v as Cell;
}

export function toCsv(head: string[], rows: Cell[][]): string {
  const q = (v: Cell): string => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [head.map(q).join(','), ...rows.map((r) => r.map(q).join(','))].join('\n');
}

export async function toTable(head: string[], rows: Cell[][], color: boolean): Promise<string> {
  const Table = (await import('cli-table3')).default;
  const t = new Table({
    head,
    style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const r of rows) t.push(r.map((c) => (c === null || c === undefined ? '' : String(c))));
  return t.toString();
}
