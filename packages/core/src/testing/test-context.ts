import { createHelpers } from '../provider/helpers';
import { createOpenContext } from '../provider/open-context';
import { Redactor } from '../provider/redactor';
import type { BaseOpenContext, DetectContext, LogLevel, Mode, Target } from '../provider/types';

/** What a test context recorded: the provider's logs, reported dial failures, announced public URLs. */
export interface TestContext {
  ctx: BaseOpenContext;
  logs: Array<{ level: LogLevel; message: string }>;
  dialFailures: string[];
  publicUrls: string[];
  /** Abort the open / stop the path, as the manager would. */
  abort(): void;
}

/** A context for calling `provider.open` (core adds the kit) directly in tests, without a manager. */
export function createTestContext(options: {
  target: Target;
  env?: NodeJS.ProcessEnv;
  mode?: Mode;
  pathId?: string;
  signal?: AbortSignal;
}): TestContext {
  const controller = new AbortController();
  options.signal?.addEventListener('abort', () => controller.abort(options.signal?.reason), { once: true });
  const recorded: Omit<TestContext, 'ctx' | 'abort'> = { logs: [], dialFailures: [], publicUrls: [] };
  const ctx = createOpenContext({
    pathId: options.pathId ?? 'test',
    mode: options.mode ?? 'access',
    target: options.target,
    signal: controller.signal,
    helpers: createHelpers({ ...process.env, ...options.env }),
    redactor: new Redactor(),
    onLog: (level, message) => recorded.logs.push({ level, message }),
    onDialFailure: (reason) => recorded.dialFailures.push(reason),
    onPublicUrl: (url) => recorded.publicUrls.push(url),
  });
  return { ctx, ...recorded, abort: () => controller.abort() };
}

/** A `DetectContext` over `env` (default: this process's environment). */
export function createDetectContext(env: NodeJS.ProcessEnv = process.env, bin?: string): DetectContext {
  return { ...createHelpers(env), signal: AbortSignal.timeout(20_000), bin };
}
