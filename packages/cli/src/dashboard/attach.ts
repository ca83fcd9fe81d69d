import path from 'node:path';
import type { Dashboard, HistoryProvider } from '@tunnelmux/dashboard';
import type { ControlHandlers, DashboardAddress } from '../control/handlers';
import { isLoopback, parseAddress } from '../util/address';
import { CliError, messageOf, usageError } from '../util/errors';
import type { DashboardConfig } from './config';

export const DASHBOARD_PACKAGE = '@tunnelmux/dashboard';

/** What `up` asked for: `--dashboard [addr]` (true without an address) and `--dashboard-public`. */
export interface DashboardRequest {
  flag?: boolean | string;
  public?: boolean;
  config?: DashboardConfig;
}

/** A served dashboard, as `up` holds it. */
export interface AttachedDashboard {
  address: DashboardAddress;
  close(): Promise<void>;
}

/**
 * Serve the dashboard when the flag or the config asks for it, over the control socket's own handlers. The
 * package is imported only here, only then; without it, the error says how to install it. The token is written
 * 0600 beside the control socket (whose folder is private).
 */
export async function attachDashboard(
  request: DashboardRequest,
  instance: {
    /** The control socket's handlers (`ControlServer.handlers`). */
    handlers: ControlHandlers;
    /** The control socket's file: the token goes beside it. */
    socket: string;
    /** Persistent history, where the instance keeps one: `GET history` / `GET report` answer 501 without. */
    history?: HistoryProvider;
    /** How to import the package (tests stand in a missing one). */
    load?: () => Promise<DashboardModule>;
  },
): Promise<AttachedDashboard | undefined> {
  const { handlers, socket, history, load = () => import('@tunnelmux/dashboard') } = instance;
  const { flag, config } = request;
  if (!flag && !config) return undefined;
  const listen = typeof flag === 'string' ? flag : (config?.listen ?? '127.0.0.1:0');
  const what = typeof flag === 'string' ? '--dashboard' : 'dashboard.listen';
  const at = parseAddress(listen, what);
  const allowAll = Boolean(request.public || config?.allowAllInterfaces);
  if (!isLoopback(at.host) && !allowAll) {
    throw usageError(
      `[tunnelmux] ${what} ${listen} is not a loopback address; add --dashboard-public ` +
        '(or dashboard.allowAllInterfaces: true) to serve the dashboard beyond this machine',
    );
  }
  const module = await loadDashboard(load);
  let dashboard: Dashboard;
  try {
    dashboard = await module.startDashboard({
      handlers,
      history,
      listen: at,
      allowAllInterfaces: allowAll,
      allowedHosts: config?.allowedHosts,
      tokenFile: path.join(path.dirname(socket), `${path.basename(socket, '.sock')}.dashboard-token`),
    });
  } catch (error) {
    // A config error (a non-loopback address without the opt-in) is a usage error; a taken port is not.
    const code = (error as { code?: string }).code;
    throw new CliError(messageOf(error), code === 'ERR_CONFIG' ? 2 : 1, { cause: error });
  }
  return { address: { url: dashboard.url, open: dashboard.open }, close: () => dashboard.close() };
}

type DashboardModule = typeof import('@tunnelmux/dashboard');

async function loadDashboard(load: () => Promise<DashboardModule>): Promise<DashboardModule> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && messageOf(error).includes(DASHBOARD_PACKAGE)) {
      throw new CliError(
        `[tunnelmux] the dashboard needs the ${DASHBOARD_PACKAGE} package, which is not installed; install it ` +
          `beside the CLI (npm install -g ${DASHBOARD_PACKAGE}, or pnpm add ${DASHBOARD_PACKAGE} in this project), ` +
          'or leave out --dashboard',
        1,
        { cause: error },
      );
    }
    throw error;
  }
}
