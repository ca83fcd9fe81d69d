import { anyOptions, anyText, checkOptionsVerdict, FUZZ_RUNS } from '@tunnelmux/testkit/fuzz';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diagnoseTunnelLine, type TunnelDiagnosis } from './expose';
import cloudflare, { parseVersion } from './index';
import { parseLogLine } from './log-parser';
import { accessOptions, exposeOptions } from './options';

// What cloudflared prints and what a user writes under `options:`, fuzzed; fast-check prints a failure's seed.
const versionish = fc.oneof(
  anyText,
  fc.stringMatching(/^cloudflared version \d{1,4}\.\d{1,2}\.\d{1,2}( \(built [^)]{0,20}( with FIPS)?\))?$/),
);
const logLine = fc.oneof(
  anyText,
  fc.stringMatching(/^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ (INF|WRN|ERR|DBG) [ -~]{0,40}$/),
  fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
);

describe('cloudflare parsers, fuzzed', () => {
  it('parseVersion: a version without blanks, or nothing', () => {
    fc.assert(
      fc.property(versionish, (text) => {
        const parsed = parseVersion(text);
        if (parsed) expect(parsed.version).toMatch(/^\S+$/);
        const detected = cloudflare.binary?.parseVersion?.(text);
        if (detected) expect(typeof detected === 'string' ? detected : detected.version).toMatch(/^\S+$/);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('parseLogLine and diagnoseTunnelLine take any line', () => {
    fc.assert(
      fc.property(logLine, (line) => {
        const entry = parseLogLine(line);
        expect(typeof entry.message).toBe('string');
        diagnoseTunnelLine(entry, {} as TunnelDiagnosis);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('options: accepted, or a ConfigError naming the path and field', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyOptions(accessOptions), anyOptions(exposeOptions)), (options) =>
        checkOptionsVerdict(cloudflare, options),
      ),
      { numRuns: FUZZ_RUNS },
    );
  }, 300_000);
});
