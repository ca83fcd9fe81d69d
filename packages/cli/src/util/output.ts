import pc from 'picocolors';

/** Colours only when stdout is a terminal (and NO_COLOR is not set). */
export const colors = pc.createColors(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);

/** Print one JSON document (pretty on a TTY, one line otherwise). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, process.stdout.isTTY ? 2 : 0)}\n`);
}

/** Print one NDJSON line. */
export function printLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** A plain table: columns padded to the widest cell (colour codes ignored for width). */
export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const width = (text: string) => stripAnsi(text).length;
  const widths: number[] = [];
  for (const row of all) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, width(cell));
  }
  const render = (row: string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell))))
      .join('  ')
      .trimEnd();
  const lines = all.map(render);
  if (header) lines[0] = colors.bold(lines[0] ?? '');
  return lines.join('\n');
}

export function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escape codes is the point.
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/** `1.2 KiB`, `3.4 MiB`. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** `45ms`, `1.2s`, `3m`. */
export function ms(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n < 1000) return `${Math.round(n)}ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(1)}s`;
  if (n < 3_600_000) return `${Math.round(n / 60_000)}m`;
  return `${(n / 3_600_000).toFixed(1)}h`;
}

/** Colour a path state the way a user scans it: green good, yellow changing, red bad. */
export function state(text: string): string {
  if (text === 'connected') return colors.green(text);
  if (text === 'connecting' || text === 'reconnecting') return colors.yellow(text);
  if (text === 'failed') return colors.red(text);
  return colors.dim(text);
}
