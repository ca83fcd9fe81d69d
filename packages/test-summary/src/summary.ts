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

export type Summary =
  | { ok: true; passed: number; failed: number; packages: PackageCounts[] }
  | { ok: false; reason: string; packages: PackageCounts[] };

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are control characters by definition.
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
/** turbo's stream prefix: `@scope/name:task: ` */
const PREFIX = /^(?<pkg>(?:@[\w.-]+\/)?[\w.-]+):(?<task>[\w:-]+): ?(?<rest>.*)$/;
const TESTS = /^\s*Tests\s{2,}(?<body>.*)$/;
const FAILED_HEADER = /Failed (?<kind>Tests|Suites) (?<n>\d+)/;
const ERRORS = /^\s*Errors\s{2,}(?<n>\d+) errors?/;
/** turbo's per-task failure line, and the `Failed:` list it ends with under --continue. */
const TASK_FAILED = /(?<pkg>(?:@[\w.-]+\/)?[\w.-]+)#(?<task>[\w:-]+): command .* exited \(\d+\)/;
const FAILED_LIST = /^\s*Failed:\s+(?<list>.+)$/;

function count(body: string, word: string): number {
  const match = new RegExp(`(\\d+) ${word}`).exec(body);
  return match ? Number(match[1]) : 0;
}

/** Sum every package's counts in `log`, the combined output of `turbo run test` (stream UI, any colour). */
export function summarize(log: string): Summary {
  const packages = new Map<string, PackageCounts>();
  const seen = new Set<string>();
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
    if (counts.taskFailed && counts.failed === 0) counts.failed = 1;
    passed += counts.passed;
    failed += counts.failed;
  }
  const list = [...packages.values()];
  if (seen.size === 0 && failed === 0)
    return { ok: false, reason: 'the log holds no vitest summary (did any test task run?)', packages: list };
  return { ok: true, passed, failed, packages: list };
}

/** The closing line CI prints. */
export function closingLine(summary: Summary): string {
  if (!summary.ok) return `tests: not counted: ${summary.reason}`;
  return `tests: ${summary.passed} passed, ${summary.failed} failed`;
}
