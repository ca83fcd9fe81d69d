import { request } from '../control/client';
import type { DashboardAddress } from '../control/handlers';
import { CliError, messageOf } from '../util/errors';
import { printJson } from '../util/output';
import { type ControlOptions, resolveSocket } from './instance';

/** `tunnelmux dashboard`: the running instance's dashboard address (with its token), printed or opened. */
export async function dashboard(options: ControlOptions & { open?: boolean }): Promise<void> {
  const address = await request<DashboardAddress>(
    await resolveSocket(options),
    'dashboard',
    undefined,
    options,
  );
  if (options.json) printJson(address);
  else process.stdout.write(`${address.open}\n`);
  if (!options.open) return;
  try {
    const { default: open } = await import('open');
    await open(address.open, { wait: false });
  } catch (error) {
    throw new CliError(
      `[tunnelmux] could not open a browser (${messageOf(error)}); open the address above yourself`,
      1,
      { cause: error },
    );
  }
}
