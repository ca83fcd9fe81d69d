import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { closingLine, failureLines, summarize } from './summary.ts';

// Each fixture is the real output of `turbo run test --continue` over vitest, colours and all, captured once.
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}.txt`, import.meta.url), 'utf8');

describe('the closing line counts every kind of failure', () => {
  it.each([
    // name, passed, failed, why
    ['pass', 2, 0, 'a green package'],
    ['fail', 1, 2, 'two failing tests'],
    ['import', 0, 1, 'a file that fails to import (a failed suite, "Tests  no tests")'],
    ['hook', 0, 1, 'a beforeAll that throws: its tests are only "skipped", the suite failed'],
    ['unhandled', 1, 1, 'an unhandled error after every test passed ("Errors  1 error")'],
    ['crash', 0, 1, 'vitest killed before any summary: the failed task still counts'],
    ['vitest5-all', 15, 5, 'vitest 5: two failed tests, two failed suites and an unhandled error in one run'],
    ['two', 16, 13, 'two packages failing at once, named together on turbo\'s "Failed:" line'],
  ])('%s: %i passed, %i failed (%s)', (name, passed, failed) => {
    const summary = summarize(fixture(name));
    expect(summary).toMatchObject({ ok: true, passed, failed });
    expect(closingLine(summary)).toBe(`tests: ${passed} passed, ${failed} failed`);
  });

  it('says per package where the failures came from', () => {
    const summary = summarize(fixture('two'));
    expect(summary.packages).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: '@tunnelmux/test-summary',
          failedTests: 2,
          failedSuites: 1,
          failed: 3,
        }),
        expect.objectContaining({ name: 'tunnelmux-provider-socat', failedTests: 10, taskFailed: true }),
      ]),
    );
  });

  it('sums packages across one log', () => {
    const log = [fixture('pass'), fixture('fail'), fixture('hook')].join('\n');
    expect(closingLine(summarize(log))).toBe('tests: 3 passed, 3 failed');
  });

  it('never prints 0 failed for a log it cannot count', () => {
    for (const log of ['', 'ERR_PNPM_NO_SCRIPT  Missing script: test\n', 'lint failed\n']) {
      const summary = summarize(log);
      expect(summary.ok).toBe(false);
      expect(closingLine(summary)).toMatch(/^tests: not counted: /);
    }
  });

  it("counts a failed task from turbo's ERROR line alone, as when turbo stops before its Failed: list", () => {
    const log = '@tunnelmux/core#build:  ERROR  command (/repo/packages/core) pnpm run build exited (1)\n';
    expect(closingLine(summarize(log))).toBe('tests: 0 passed, 1 failed');
  });

  it('counts a failed build that kept the tests from running', () => {
    const log =
      '@tunnelmux/core#build:  ERROR  command (/repo/packages/core) pnpm run build exited (1)\nFailed:    @tunnelmux/core#build\n';
    expect(closingLine(summarize(log))).toBe('tests: 0 passed, 1 failed');
  });
});

describe('the lines before the closing line name each failure', () => {
  it.each([
    [
      'fail',
      [
        'failed: @tunnelmux/test-summary src/tmp-fail.test.ts > fails :: AssertionError: expected 1 to be 2 // Object.is equality',
        'failed: @tunnelmux/test-summary src/tmp-fail.test.ts > fails again :: AssertionError: expected 3 to be 4 // Object.is equality',
      ],
    ],
    ['hook', ['failed: @tunnelmux/test-summary src/tmp-hook.test.ts > a scenario :: Error: set-up failed']],
    ['unhandled', ['failed: @tunnelmux/test-summary (uncaught exception) :: Error: late']],
    [
      'crash',
      [
        'failed: @tunnelmux/test-summary (its task failed with no test failure; its last lines follow)',
        '  | cache bypass, force executing 70aadd4dc115dfb2',
        '  | > @tunnelmux/test-summary@0.1.0 test /repo/packages/test-summary',
        '  | > vitest run',
        '  | RUN  v3.2.7 /repo/packages/test-summary',
        '  | Killed',
        // pnpm sets ELIFECYCLE between thin spaces.
        '  | ELIFECYCLE\u2009 Test failed. See above for more details.',
      ],
    ],
    ['pass', []],
  ])('%s', (name, lines) => {
    expect(failureLines(summarize(fixture(name)))).toEqual(lines);
  });

  it('keeps each failure with its own error when turbo interleaves two packages', () => {
    const failures = summarize(fixture('two')).failures;
    expect(failures).toHaveLength(13);
    expect(failures).toContainEqual({
      package: 'tunnelmux-provider-socat',
      test: "src/errors.test.ts > socat errors > reports a fixed port that is already taken, from socat's own error",
      error: "AssertionError: expected 'failed' to be 'reconnecting' // Object.is equality",
    });
    expect(failures).toContainEqual({
      package: '@tunnelmux/test-summary',
      test: 'src/tmp-import.test.ts [ src/tmp-import.test.ts ]',
      error: expect.stringMatching(/^Error: Cannot find module '.\/does-not-exist.js'/),
    });
  });

  it("shows the last lines of a task that failed after its tests passed (the soak's verdict), and only those", () => {
    const soak = (line: string) => `@tunnelmux/soak:test: ${line}`;
    const log = [
      soak(' Test Files  2 passed (2)'),
      soak('      Tests  11 passed (11)'),
      ...Array.from({ length: 20 }, (_, i) => soak(`[soak] 1.${i} min: 600 connections on a, 0 failed`)),
      soak('[soak] FAILED (seed 42):'),
      soak(
        '  - pid 7 did not stop cleanly on SIGTERM: code undefined, signal SIGKILL; stderr ends: waiting for x',
      ),
      soak('[soak] replay: pnpm soak --minutes 2 --seed 42'),
      soak(' ELIFECYCLE  Test failed. See above for more details.'),
      '@tunnelmux/soak#test:  ERROR  command (/repo/packages/soak) pnpm run test exited (1)',
      `@tunnelmux/core:test: ${'x'.repeat(1000)}`,
    ].join('\n');
    const lines = failureLines(summarize(log));
    expect(lines[0]).toBe(
      'failed: @tunnelmux/soak (its task failed with no test failure; its last lines follow)',
    );
    expect(lines).toHaveLength(13);
    expect(lines.slice(-4)).toEqual([
      '  | [soak] FAILED (seed 42):',
      '  | - pid 7 did not stop cleanly on SIGTERM: code undefined, signal SIGKILL; stderr ends: waiting for x',
      '  | [soak] replay: pnpm soak --minutes 2 --seed 42',
      '  | ELIFECYCLE  Test failed. See above for more details.',
    ]);
    expect(closingLine(summarize(log))).toBe('tests: 11 passed, 1 failed');
  });

  it('stops at the limit and says how many more there are', () => {
    const lines = failureLines(summarize(fixture('two')), 3);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('failed: … and 10 more (see above, or --json)');
  });
});
