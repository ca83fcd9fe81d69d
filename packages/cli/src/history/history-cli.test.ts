import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { historySchema } from './config';
import { defaultStateDir, historyFile } from './location';
import { parseWhen } from './open';
import { dayBar, percent } from './render';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-hist-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('where history lives', () => {
  it('defaults to $TUNNELMUX_HOME/state, else $XDG_STATE_HOME/tunnelmux', () => {
    expect(defaultStateDir({ TUNNELMUX_HOME: '/h' })).toBe('/h/state');
    if (process.platform === 'linux') expect(defaultStateDir({ XDG_STATE_HOME: '/s' })).toBe('/s/tunnelmux');
    expect(historyFile(undefined, dir, { TUNNELMUX_HOME: '/h' })).toBe('/h/state/history.sqlite');
  });

  it('takes state: as a folder, or as the file when it names one, relative to the config', () => {
    expect(historyFile('state', dir)).toBe(path.join(dir, 'state', 'history.sqlite'));
    expect(historyFile('./db/h.sqlite', dir)).toBe(path.join(dir, 'db', 'h.sqlite'));
    expect(historyFile('/abs/x.db', dir)).toBe('/abs/x.db');
    writeFileSync(path.join(dir, 'existing'), '');
    expect(historyFile('existing', dir)).toBe(path.join(dir, 'existing'));
  });
});

describe('history: in the config', () => {
  it('parses retention and maxSize, and names what it refuses', () => {
    expect(historySchema.parse({ retention: '30d', maxSize: '100MB' })).toEqual({
      retention: 30 * 86_400_000,
      maxSize: 100 * 1024 * 1024,
    });
    expect(historySchema.parse({ retention: '12w', maxSize: 5_000_000 })).toEqual({
      retention: 12 * 7 * 86_400_000,
      maxSize: 5_000_000,
    });
    const tooShort = historySchema.safeParse({ retention: '5m' });
    expect(tooShort.error?.issues[0]?.message).toBe(
      'must be a duration from 1h to 3650d, such as 30d, 12w or 720h',
    );
    const tiny = historySchema.safeParse({ maxSize: '10kb' });
    expect(tiny.error?.issues[0]?.message).toBe('must be a size of at least 1MB, such as 100MB or 1GB');
    expect(historySchema.safeParse({ maxSize: 'lots' }).success).toBe(false);
    expect(historySchema.safeParse({ keep: '1d' }).success).toBe(false);
  });
});

describe('--since and --until', () => {
  const now = Date.UTC(2026, 10, 30, 12);
  it('take a duration back from now or a date', () => {
    expect(parseWhen('24h', '--since', now)).toBe(now - 86_400_000);
    expect(parseWhen('7d', '--since', now)).toBe(now - 7 * 86_400_000);
    expect(parseWhen('2026-11-29', '--since', now)).toBe(Date.UTC(2026, 10, 29));
    expect(parseWhen('2026-11-29T08:00:00Z', '--until', now)).toBe(Date.UTC(2026, 10, 29, 8));
  });
  it('refuse anything else with a usage error naming the flag and the value', () => {
    for (const bad of ['yesterday', '-1h', '2026-13-45', '']) {
      expect(() => parseWhen(bad, '--until', now)).toThrow(
        expect.objectContaining({
          exitCode: 2,
          message: expect.stringContaining(`--until must be a duration`),
        }),
      );
    }
    expect(() => parseWhen('soon', '--since', now)).toThrow('got "soon"');
  });
});

describe('report rendering', () => {
  it('never rounds a shortfall up to 100%', () => {
    expect(percent(0.99999)).toBe('99.99%');
    expect(percent(1)).toBe('100%');
    expect(percent(null)).toBe('-');
  });
  it('draws one bar per day by availability, a dot for a day without a run', () => {
    expect([1, 0.9995, 0.995, 0.96, 0.92, 0.8, 0.6, 0.1, null].map(dayBar).join('')).toBe('█▇▆▅▄▃▂▁·');
  });
});
