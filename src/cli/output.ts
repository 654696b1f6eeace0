// Everything coordctl prints goes through here: aligned tables (coloured on a terminal, plain when
// piped or with NO_COLOR), one JSON document per command with --json, and one-line errors on stderr.

/** Where output goes; tests and the entry point pass process streams. */
export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/**
 * Colour on when writing to a terminal, unless NO_COLOR is set to anything non-empty
 * (https://no-color.org) or `--no-color` is given; FORCE_COLOR=1 turns it on when piped.
 */
export function colorWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag = true): boolean {
  if (!flag) return false;
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '' && env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true;
}

const SGR = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;
export type Style = keyof typeof SGR;

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
/** Visible width of a cell: escape codes take no room. */
export const visibleLength = (s: string): number => s.replace(ANSI, '').length;

/** Cuts a cell to `max` visible characters with an ellipsis (tables only; --json is never cut). */
export function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}

/** JSON.stringify that writes bigints (revisions, fencing tokens) as numbers when they fit, else strings. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v),
    indent,
  );
}

export interface Column {
  header: string;
  /** Right-align (numbers). @default false */
  right?: boolean;
}

export class Output {
  constructor(
    private readonly streams: Streams,
    /** --json: one JSON document (or one per line for watches) on stdout, no tables. */
    readonly json: boolean,
    readonly color: boolean,
  ) {}

  style(style: Style, text: string): string {
    if (!this.color || text === '') return text;
    const [on, off] = SGR[style];
    return `\x1b[${on}m${text}\x1b[${off}m`;
  }

  /** A line on stdout. */
  line(text = ''): void {
    this.streams.stdout.write(`${text}\n`);
  }

  /** A note for the human on stderr (never mixed into data on stdout). */
  note(text: string): void {
    this.streams.stderr.write(`${text}\n`);
  }

  /** A JSON document on stdout: pretty for one-shot commands, compact (`lines`) for event streams. */
  data(value: unknown, { compact = false } = {}): void {
    this.streams.stdout.write(`${toJson(value, compact ? undefined : 2)}\n`);
  }

  /** Columns padded to the widest cell; the header bold on a terminal; `empty` when there are no rows. */
  table(columns: Column[], rows: string[][], empty = '(none)'): void {
    if (rows.length === 0) {
      this.note(empty);
      return;
    }
    const widths = columns.map((c, i) => Math.max(visibleLength(c.header), ...rows.map((r) => visibleLength(r[i] ?? ''))));
    const render = (cells: string[]): string =>
      cells
        .map((cell, i) => {
          const pad = ' '.repeat(widths[i]! - visibleLength(cell));
          if (i === cells.length - 1 && !columns[i]!.right) return cell; // no trailing blanks
          return columns[i]!.right ? pad + cell : cell + pad;
        })
        .join('  ')
        .trimEnd();
    this.line(this.style('bold', render(columns.map((c) => c.header))));
    for (const row of rows) this.line(render(row));
  }

  /** A listing: the items as one JSON document with --json, else a table with one row per item. */
  list<T>(items: T[], columns: Column[], row: (item: T) => string[], empty?: string): void {
    if (this.json) this.data(items);
    else this.table(columns, items.map(row), empty);
  }

  /** Waits until everything written so far has been handed to the OS (before process.exit). */
  async flush(): Promise<void> {
    await Promise.all(
      [this.streams.stdout, this.streams.stderr].map((s) => new Promise<void>((resolve) => void s.write('', () => resolve()))),
    );
  }
}

/** The empty-table line of a listing by name prefix: `(no locks starting with 'a')`. */
export function noneStarting(what: string, prefix: string | undefined): string {
  return `(no ${what}${prefix ? ` starting with '${prefix}'` : ''})`;
}

/** Text shown in a table cell: on one line, cut to `max` (pass values through toJson first). */
export function cell(text: string, max = 60): string {
  return cut(text.replace(/\s+/g, ' '), max);
}

/** `1234` ms → `1.2s`, `61000` → `1m1s`; undefined/negative → `-`. */
export function duration(ms: number | undefined): string {
  if (ms === undefined || ms < 0 || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  const h = Math.floor(m / 60);
  return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
}
