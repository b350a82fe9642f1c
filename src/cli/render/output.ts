/**
 * What a command returns, and the pure renderers from that data to text: table (cli-table3),
 * JSON, YAML and CSV. Command modules never print their result themselves.
 */
import { csvColumns, jsonShape } from './json-shape.js';

export type Cell = string | number | boolean | null | undefined;

export interface Output {
  /** The machine-readable result (JSON/YAML). */
  data?: unknown;
  /**
   * Rows for table and CSV output. A table wider than the terminal drops columns to fit: those
   * named in `drop` first (in that order), then others from the right; the first column stays.
   * `--wide` shows them all.
   */
  table?: { head: string[]; rows: Cell[][]; drop?: string[] };
  /** CSV from `data` (raw numbers, as JSON has them) rather than from the table's display text. */
  csvFromData?: boolean;
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

export async function render(out: Output, format: Format, color: boolean, width = Infinity): Promise<string> {
  switch (format) {
    case 'json':
      return JSON.stringify(jsonShape(out.data ?? null), null, 2);
    case 'yaml': {
      const YAML = (await import('yaml')).default;
      return YAML.stringify(jsonShape(out.data ?? null)).trimEnd();
    }
    case 'csv':
      if (out.table && !out.csvFromData) return toCsv(out.table.head, out.table.rows);
      if (Array.isArray(out.data) && out.data.every((x) => x && typeof x === 'object')) {
        const rows = out.data as Record<string, unknown>[];
        const { head, cells } = csvColumns(rows);
        return toCsv(
          head,
          rows.map((r) => head.map((h) => scalar(cells(r, h)))),
        );
      }
      return toCsv(['value'], [[JSON.stringify(out.data)]]);
    default: {
      const parts: string[] = [];
      if (out.table) {
        const fit = fitColumns(out.table, width);
        parts.push(await toTable(fit.head, fit.rows, color));
        if (fit.hidden.length) parts.push(`(${fit.hidden.join(', ')} hidden to fit ${width} columns: --wide shows them)`);
      }
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

/** The width a table takes: each column its widest cell plus 2 of padding and 1 of border, and 1. */
function tableWidth(head: string[], rows: Cell[][]): number {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  return w.reduce((n, x) => n + x + 3, 1);
}

/** Drops columns (Output.table.drop first, then from the right) until the table fits `width`. */
export function fitColumns(t: NonNullable<Output['table']>, width: number): { head: string[]; rows: Cell[][]; hidden: string[] } {
  let keep = t.head.map((_, i) => i);
  const pick = (idx: number[]): { head: string[]; rows: Cell[][] } => ({ head: idx.map((i) => t.head[i]!), rows: t.rows.map((r) => idx.map((i) => r[i])) });
  const order = [...(t.drop ?? []).map((h) => t.head.indexOf(h)).filter((i) => i > 0), ...t.head.map((_, i) => i).reverse()];
  for (const i of order) {
    const cur = pick(keep);
    if (tableWidth(cur.head, cur.rows) <= width || keep.length <= 1) break;
    if (i > 0) keep = keep.filter((k) => k !== i);
  }
  const hidden = t.head.filter((_, i) => !keep.includes(i));
  return { ...pick(keep), hidden };
}
