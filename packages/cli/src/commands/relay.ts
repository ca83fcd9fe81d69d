import { parseDuration } from '@tunnelmux/core/config';
import {
  createRelay,
  createRelayPrometheus,
  type RelayEvent,
  readSessionKeyFile,
} from '@tunnelmux/core/session';
import { formatAddress, isLoopback, parseAddress } from '../util/address';
import { usageError } from '../util/errors';
import { closeServer, serveMetrics, serverAddress } from '../util/metrics-server';
import { colors, printLine } from '../util/output';

interface RelayOptions {
  listen: string;
  keyFile: string;
  window?: string;
  metricsListen?: string;
  metricsPublic?: boolean;
  json?: boolean;
}

function describe(event: RelayEvent): string {
  switch (event.type) {
    case 'listening':
      return `relay listening on ${event.address}, target ${event.target}`;
    case 'session-opened':
      return `session ${event.session.slice(0, 8)} opened from ${event.peer}`;
    case 'carrier-lost':
      return colors.yellow(`session ${event.session.slice(0, 8)} detached: ${event.reason}`);
    case 'session-resumed':
      return colors.green(
        `session ${event.session.slice(0, 8)} resumed from ${event.peer} after ${event.stallMs} ms, ${event.replayedBytes} bytes replayed`,
      );
    case 'session-lost':
      return colors.red(`session ${event.session.slice(0, 8)} lost (${event.reason}): ${event.message}`);
    case 'session-closed':
      return `session ${event.session.slice(0, 8)} closed (${event.how})${event.message ? `: ${event.message}` : ''}`;
    case 'key-refused':
      return colors.red(
        `refused a wrong key from ${event.peer} (${event.failures} in a row; next answer in ${event.delayMs} ms)`,
      );
    case 'handshake-failed':
      return colors.dim(`handshake from ${event.peer} failed (${event.reason}): ${event.message}`);
    case 'target-unreachable':
      return colors.red(`target unreachable for ${event.peer}: ${event.message}`);
    case 'probe':
      return colors.dim(`probe from ${event.peer}: ${event.ok ? 'ok' : event.message}`);
  }
}

/** `tunnelmux relay <target> --listen <addr> --key-file <file>`: the far end of resumable sessions. */
export async function relay(target: string, options: RelayOptions): Promise<void> {
  const targetAddress = parseAddress(target, 'the relay target');
  const listen = parseAddress(options.listen, '--listen');
  const windowMs = options.window === undefined ? undefined : parseDuration(options.window);
  if (options.window !== undefined && windowMs === undefined) {
    throw usageError(`[tunnelmux] --window must be a duration such as 30s or 2m, got "${options.window}"`);
  }
  const metricsAt = options.metricsListen
    ? parseAddress(options.metricsListen, '--metrics-listen')
    : undefined;
  if (metricsAt && !isLoopback(metricsAt.host) && !options.metricsPublic) {
    throw usageError(
      `[tunnelmux] --metrics-listen ${options.metricsListen} is not a loopback address; add --metrics-public to serve metrics beyond this machine`,
    );
  }
  const key = await readSessionKeyFile(options.keyFile);
  let prometheus: ReturnType<typeof createRelayPrometheus> | undefined;
  const emit = (event: RelayEvent) => {
    prometheus?.observe(event);
    if (options.json) printLine({ ...event, time: Date.now() });
    else process.stdout.write(`${describe(event)}\n`);
  };
  const server = await createRelay({ target: targetAddress, listen, key, windowMs, onEvent: emit });
  prometheus = createRelayPrometheus(() => server.metrics());
  const metricsServer = metricsAt
    ? await serveMetrics(() => prometheus.registry.metrics(), prometheus.registry.contentType, metricsAt)
    : undefined;
  if (options.json) {
    printLine({
      type: 'ready',
      pid: process.pid,
      listen: formatAddress(server.address),
      target: formatAddress(targetAddress),
      metrics: metricsServer ? `http://${serverAddress(metricsServer)}/metrics` : undefined,
      time: Date.now(),
    });
  }
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      if (!options.json) process.stderr.write(`${colors.dim(`stopping the relay (${why})`)}\n`);
      void closeServer(metricsServer);
      await server.close();
      if (options.json) printLine({ type: 'stopped', time: Date.now(), metrics: server.metrics() });
      process.exit(0);
    })();
  };
  // `on`, not `once`: see up.ts (execa's signal-exit re-raises signals nobody seems to handle).
  process.on('SIGINT', () => stop('Ctrl-C'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => stop('SIGHUP'));
  await new Promise(() => undefined);
}
