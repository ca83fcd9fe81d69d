import { request } from '../control/client';
import { reloadText } from '../render/reload';
import type { ReloadReport } from '../services/events';
import { printJson } from '../util/output';
import { type ControlOptions, resolveSocket } from './instance';

/**
 * `tunnelmux reload`: the running `up` reads its config again and applies only the difference. An invalid config
 * is refused with its file:line:col problems (exit 2) and nothing changes; a partial apply exits 1.
 */
export async function reload(options: ControlOptions): Promise<void> {
  const report = await request<ReloadReport>(await resolveSocket(options), 'reload', undefined, {
    // Starting new paths can take a provider's whole open timeout.
    timeout: options.timeout ?? 60_000,
  });
  if (options.json) printJson(report);
  else process.stdout.write(`${reloadText(report)}\n`);
  if (report.failed.length > 0) process.exitCode = 1;
}
