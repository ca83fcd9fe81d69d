import { TunnelmuxError } from '@tunnelmux/core';
import { anyOptions, anyText, checkOptionsVerdict, FUZZ_RUNS } from '@tunnelmux/testkit/fuzz';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseVersion } from './cli';
import { parseGoDuration } from './duration';
import tailscale from './index';
import { optionsSchema } from './options';
import { parsePong } from './ping';
import { parseServeConfig } from './serve';
import { parseStatus } from './status';

// What tailscale prints and what a user writes under `options:`, fuzzed; fast-check prints a failure's seed.
describe('tailscale parsers, fuzzed', () => {
  it('parseVersion, parseGoDuration and parsePong: a value, or nothing', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          fc.stringMatching(/^\d{1,2}\.\d{1,3}(\.\d{1,2})?(-\w{0,8})?\n {2}tailscale commit: \w{0,8}$/),
          fc.stringMatching(/^-?(\d{1,6}(\.\d{0,3})?(h|m|s|ms|us|µs|ns)){1,3}$/),
          fc.stringMatching(
            /^pong from [\w.-]{1,12} \([\d.]{7,15}\) via [\w.:[\]-]{1,20} in \d{1,4}(\.\d{1,2})?ms$/,
          ),
        ),
        (text) => {
          const version = parseVersion(text);
          if (version) expect(version).toMatch(/^\d+\.\d+/);
          const ms = parseGoDuration(text);
          if (ms !== undefined) expect(Number.isNaN(ms)).toBe(false);
          parsePong(text);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('parseStatus and parseServeConfig: a value, or a TunnelmuxError saying what was printed', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyText,
          fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
        ),
        (text) => {
          for (const parse of [parseStatus, parseServeConfig]) {
            try {
              parse(text);
            } catch (error) {
              expect(error).toBeInstanceOf(TunnelmuxError);
              expect((error as Error).message).toMatch(/^\[tunnelmux\] \[tailscale\] /);
              expect((error as Error).message.length).toBeLessThan(2000);
            }
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('options: accepted, or a ConfigError naming the path and field', async () => {
    await fc.assert(
      fc.asyncProperty(anyOptions(optionsSchema), (options) => checkOptionsVerdict(tailscale, options)),
      { numRuns: FUZZ_RUNS },
    );
  }, 300_000);
});
