// Sums a `turbo run test` log of vitest runs into one closing line. A failure of any kind counts: a failed test,
// a failed suite (a file that fails to import, a failing beforeAll), an unhandled error, and a task that failed
// with nothing else to show for it. When the log holds nothing countable, it says so rather than print 0.

/** What one package's test task reported. */
export interface PackageCounts {
  name: string;
  passed: number;
  failedTests: number;
  failedSuites: number;
  errors: number;
  /** turbo reported this package's task as failed. */
  taskFailed: boolean;
  /** The failures this package adds to the closing line. */
  failed: number;
}

/** One failed test or suite as vitest names it in its failure section, with the first line of its error. */
export interface Failure {
  package: string;
  /** `src/file.test.ts > suite > test`, or `src/file.test.ts [ src/file.test.ts ]` for a file that failed whole. */
  test: string;
  /** The error's first line (`AssertionError: expected 1 to be 2`), or '' when vitest printed none. */
  error: string;
  /** For a task that failed with no test failure: its last lines of output, which say why (a soak's verdict). */
  lastLines?: string[];
}

/** How many of a failed task's last lines of output are kept, and how long each may be. */
const TAIL_LINES = 12;
const TAIL_LINE_CHARS = 400;

export type Summary =
  | { ok: true; passed: number; failed: number; packages: PackageCounts[]; failures: Failure[] }
  | { ok: false; reason: string; packages: PackageCounts[]; failures: Failure[] };

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are control characters by definition.
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
/** turbo's stream prefix: `@scope/name:task: ` */
const PREFIX = /^(?<pkg>(?:@[\w.-]+\/)?[\w.-]+):(?<task>[\w:-]+): ?(?<rest>.*)$/;
const TESTS = /^\s*Tests\s{2,}(?<body>.*)$/;
const FAILED_HEADER = /Failed (?<kind>Tests|Suites) (?<n>\d+)/;
const ERRORS = /^\s*Errors\s{2,}(?<n>\d+) errors?/;
/** turbo's per-task failure line, and the `Failed:` list it ends with under --continue. */
const TASK_FAILED =
  /(?<pkg>(?:@[\w.-]+\/)?[\w.-]+)#(?<task>[\w:-]+):\s+(?:ERROR\s+)?command .* exited \(\d+\)/;
const FAILED_LIST = /^\s*Failed:\s+(?<list>.+)$/;
/** The heading of one failure in vitest's failure section, and the error line that follows it. */
const FAIL_HEADING = /^\s*FAIL\s+(?<test>\S.*?)\s*$/;
/** The heading of one unhandled error: `⎯⎯ Uncaught Exception ⎯⎯`, `⎯⎯ Unhandled Rejection ⎯⎯`. */
const UNHANDLED_HEADING = /^⎯+ (?<kind>Uncaught Exception|Unhandled Rejection|Unhandled Error) ⎯+$/;
const ERROR_LINE = /^(?:\w*Error|Error)(?:\s*\[[\w-]+\])?:|^\w+Error\b/;

function count(body: string, word: string): number {
  const match = new RegExp(`(\\d+) ${word}`).exec(body);
  return match ? Number(match[1]) : 0;
}

/** Sum every package's counts in `log`, the combined output of `turbo run test` (stream UI, any colour). */
export function summarize(log: string): Summary {
  const packages = new Map<string, PackageCounts>();
  const seen = new Set<string>();
  const failures: Failure[] = [];
  // The failure whose error line is still to come, per package (turbo interleaves packages' lines).
  const awaitingError = new Map<string, Failure>();
  // Each package's last lines of test output, for a task that fails with nothing else to show.
  const tails = new Map<string, string[]>();
  const get = (name: string) => {
    let counts = packages.get(name);
    if (!counts) {
      counts = { name, passed: 0, failedTests: 0, failedSuites: 0, errors: 0, taskFailed: false, failed: 0 };
      packages.set(name, counts);
    }
    return counts;
  };
  // Any failed task of a package (its build, its tests) means that package's tests did not all pass.
  const taskFailed = (name: string) => {
    get(name).taskFailed = true;
  };

  for (const raw of log.split(/\r?\n/)) {
    const line = raw.replace(ANSI, '');
    const failedTask = TASK_FAILED.exec(line);
    if (failedTask?.groups) taskFailed(failedTask.groups.pkg!);
    const list = FAILED_LIST.exec(line);
    if (list?.groups) {
      for (const entry of list.groups.list!.split(/,\s*/)) {
        const [name, task] = entry.trim().split('#');
        if (name && task) taskFailed(name);
      }
    }
    const prefixed = PREFIX.exec(line)?.groups;
    if (prefixed?.task !== 'test') continue;
    const name = prefixed.pkg!;
    const rest = prefixed.rest!;
    const text = rest.trim();
    if (text !== '') {
      const tail = tails.get(name) ?? [];
      tail.push(text.slice(0, TAIL_LINE_CHARS));
      if (tail.length > TAIL_LINES) tail.shift();
      tails.set(name, tail);
    }
    const heading = FAIL_HEADING.exec(rest) ?? UNHANDLED_HEADING.exec(text);
    if (heading?.groups) {
      const test = heading.groups.test ?? `(${heading.groups.kind!.toLowerCase()})`;
      const failure = { package: name, test, error: '' };
      failures.push(failure);
      awaitingError.set(name, failure);
      continue;
    }
    const pending = awaitingError.get(name);
    if (pending && text !== '') {
      if (ERROR_LINE.test(text)) pending.error = text;
      awaitingError.delete(name);
    }
    const tests = TESTS.exec(rest);
    if (tests?.groups) {
      const counts = get(name);
      seen.add(name);
      counts.passed += count(tests.groups.body!, 'passed');
      counts.failedTests += count(tests.groups.body!, 'failed');
      continue;
    }
    const header = FAILED_HEADER.exec(rest);
    if (header?.groups) {
      const counts = get(name);
      if (header.groups.kind === 'Suites') counts.failedSuites += Number(header.groups.n);
      continue;
    }
    const errors = ERRORS.exec(rest);
    if (errors?.groups) get(name).errors += Number(errors.groups.n);
  }

  let passed = 0;
  let failed = 0;
  for (const counts of packages.values()) {
    counts.failed = counts.failedTests + counts.failedSuites + counts.errors;
    // A task that failed with no failure to show (a crash, a build that broke, a timeout) still counts once.
    if (counts.taskFailed && counts.failed === 0) {
      counts.failed = 1;
      if (!failures.some((f) => f.package === counts.name))
        failures.push({
          package: counts.name,
          test: '(its task failed with no test failure; its last lines follow)',
          error: '',
          lastLines: tails.get(counts.name) ?? [],
        });
    }
    passed += counts.passed;
    failed += counts.failed;
  }
  const list = [...packages.values()];
  if (seen.size === 0 && failed === 0)
    return {
      ok: false,
      reason: 'the log holds no vitest summary (did any test task run?)',
      packages: list,
      failures,
    };
  return { ok: true, passed, failed, packages: list, failures };
}

/**
 * The failures, a line each (a failed task's last lines of output below it), so the end of a long CI log names
 * them; at most `limit` failures, then a count.
 */
export function failureLines(summary: Summary, limit = 20): string[] {
  const lines = summary.failures
    .slice(0, limit)
    .flatMap((f) => [
      `failed: ${f.package} ${f.test}${f.error ? ` :: ${f.error.slice(0, 300)}` : ''}`,
      ...(f.lastLines ?? []).map((line) => `  | ${line}`),
    ]);
  const more = summary.failures.length - limit;
  if (more > 0) lines.push(`failed: … and ${more} more (see above, or --json)`);
  return lines;
}

/** The closing line CI prints. */
export function closingLine(summary: Summary): string {
  if (!summary.ok) return `tests: not counted: ${summary.reason}`;
  return `tests: ${summary.passed} passed, ${summary.failed} failed`;
}
