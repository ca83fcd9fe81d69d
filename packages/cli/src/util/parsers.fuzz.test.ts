import { boundedDuration, parseDuration } from '@tunnelmux/core/config';
import { InvalidArgumentError } from 'commander';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTimeout } from '../cli';
import { parseAddress } from './address';
import { CliError } from './errors';

// Property-based fuzzing of the small parsers a user types into; fast-check prints the seed of a failure.
// TUNNELMUX_FUZZ_RUNS lowers the runs for `pnpm mutation` only; CI runs the default.
const RUNS = Number(process.env.TUNNELMUX_FUZZ_RUNS ?? 10_000);

/** Strings near what the parsers take, and far from it (long, binary, unicode). */
const typed = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.stringMatching(/^\s?(\[[0-9a-f:]{0,12}\]|[a-z0-9.-]{0,12})?:?\d{0,7}\s?$/),
  fc.stringMatching(/^\s?-?\d{0,12}(\.\d{0,4})?\s{0,2}(ms|s|m|h|d|w|y|hours|days|years|MS|H|Days)?\s?$/),
  fc.string({ minLength: 1000, maxLength: 5000 }),
);

// Whatever was typed, the message quotes at most a clipped part of it.
const SHORT = 600;

describe('parsers, fuzzed', () => {
  it('parseAddress: an address, or a usage error naming the bad value', () => {
    fc.assert(
      fc.property(typed, (text) => {
        try {
          const { host, port } = parseAddress(text, '--listen');
          expect(Number.isInteger(port) && port >= 0 && port <= 65535).toBe(true);
          expect(host.length).toBeGreaterThan(0);
        } catch (error) {
          expect(error).toBeInstanceOf(CliError);
          expect((error as CliError).exitCode).toBe(2);
          expect((error as Error).message).toMatch(/^\[tunnelmux\] --listen must be host:port .*, got /);
          expect((error as Error).message.length).toBeLessThan(SHORT);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('parseTimeout: 1 ms to 24 h, or an error saying what was expected', () => {
    fc.assert(
      fc.property(typed, (text) => {
        try {
          const value = parseTimeout(text);
          expect(Number.isFinite(value) && value > 0 && value <= 86_400_000).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgumentError);
          expect((error as Error).message).toMatch(/^expected a duration from 1ms to 24h .*, got /);
          expect((error as Error).message.length).toBeLessThan(SHORT);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("core's durations: a bounded number of milliseconds, or an issue saying what was expected", () => {
    const bounded = boundedDuration({ min: 10, max: 3_600_000 });
    fc.assert(
      fc.property(fc.oneof(typed, fc.double(), fc.integer()), (value) => {
        const parsed = parseDuration(value as string | number);
        if (parsed !== undefined) expect(parsed >= 0 && parsed <= 2 ** 31 - 1).toBe(true);
        const result = bounded.safeParse(value);
        if (result.success) expect(result.data >= 10 && result.data <= 3_600_000).toBe(true);
        else expect(result.error.issues[0]?.message).toMatch(/^must be (a duration|at most|at least)/);
      }),
      { numRuns: RUNS },
    );
  });
});
