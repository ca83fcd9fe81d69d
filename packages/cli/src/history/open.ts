import path from 'node:path';
import type { HistoryStore } from '@tunnelmux/history';
import ms from 'ms';
import { findConfigQuietly, loadConfig } from '../config/load';
import { CliError, usageError } from '../util/errors';
import { historyFile } from './location';

export interface HistorySource {
  /** `--state`: a history file or state folder to read instead of the config's. */
  state?: string;
  /** `--config`: the config whose `state:` names the file. */
  config?: string;
}

/** Where the history file is: `--state`, else the config's `state:` (--config or one here), else the default. */
export function locateHistory(options: HistorySource, cwd = process.cwd()): { file: string; how: string } {
  if (options.state) return { file: historyFile(options.state, cwd), how: '--state' };
  const configFile = options.config ? path.resolve(cwd, options.config) : findConfigQuietly(cwd);
  if (configFile) {
    const loaded = loadConfig(configFile);
    return {
      file: historyFile(loaded.config.state, loaded.dir),
      how: loaded.config.state
        ? `state: in ${configFile}`
        : `the default state folder (${configFile} sets no state:)`,
    };
  }
  return { file: historyFile(undefined, cwd), how: 'the default state folder' };
}

/** The history package; it needs `node:sqlite` (Node.js 22.13 and later), so it loads only when used. */
export async function loadHistory(): Promise<typeof import('@tunnelmux/history')> {
  try {
    return await import('@tunnelmux/history');
  } catch (error) {
    throw new CliError(
      `[tunnelmux] [history] history needs node:sqlite, built into Node.js 22.13 and later; this is Node.js ${process.version} (${(error as Error).message}); upgrade Node.js`,
      1,
      { cause: error },
    );
  }
}

/** Open the history file for reading; a missing one says where it looked and how to make one. */
export async function openHistory(options: HistorySource, cwd = process.cwd()): Promise<HistoryStore> {
  const { file, how } = locateHistory(options, cwd);
  const { HistoryError, HistoryStore } = await loadHistory();
  try {
    return HistoryStore.open(file, { mustExist: true });
  } catch (error) {
    if (error instanceof HistoryError && error.code === 'ERR_HISTORY_MISSING') {
      throw new CliError(
        `[tunnelmux] [history] no history file at ${file} (from ${how}). History is recorded while \`tunnelmux up\` runs; start it with this config, or pass --state FILE or --config FILE to read another`,
        1,
        { cause: error },
      );
    }
    throw new CliError((error as Error).message, 1, { cause: error });
  }
}

const AGO = /^\s*\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w|y)\s*$/i;

/**
 * A `--since`/`--until` value as epoch ms: a duration back from `now` (`24h`, `7d`, `90m`) or a date and time
 * (`2026-11-30`, `2026-11-30T08:00:00Z`).
 */
export function parseWhen(value: string, flag: string, now: number): number {
  if (AGO.test(value)) {
    const ago = ms(value.trim() as ms.StringValue) as number | undefined;
    if (ago !== undefined && Number.isFinite(ago)) return now - ago;
  } else if (/^\d{4}-\d{2}-\d{2}/.test(value.trim())) {
    const time = Date.parse(value.trim());
    if (Number.isFinite(time)) return time;
  }
  throw usageError(
    `[tunnelmux] ${flag} must be a duration back from now such as 24h, 7d or 90m, or a date such as 2026-11-30 or 2026-11-30T08:00:00Z; got ${JSON.stringify(value)}`,
  );
}
