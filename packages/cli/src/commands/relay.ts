import path from 'node:path';
import { parseDuration } from '@tunnelmux/core/config';
import {
  createRelay,
  createRelayPrometheus,
  type RelayEvent,
  readSessionKeyFile,
  SESSION_DEFAULTS,
} from '@tunnelmux/core/session';
import { processFigures } from '../control/process-figures';
import { type RelayStatus, relayInstance } from '../control/relay-instance';
import { ControlServer } from '../control/server';
import { socketPath } from '../control/socket-path';
import { describeRelayEvent } from '../render/relay';
import { formatAddress, isLoopback, parseAddress } from '../util/address';
import { usageError } from '../util/errors';
import { closeServer, serveMetrics, serverAddress } from '../util/metrics-server';
import { colors, printLine } from '../util/output';
import { exitNow, onStopSignals, signalName } from '../util/stop-signals';

interface RelayOptions {
  listen: string;
  keyFile: string;
  window?: string;
  metricsListen?: string;
  metricsPublic?: boolean;
  json?: boolean;
  name?: string;
  socket?: string;
}

// The socket file is <name>.sock in a private folder: a name must not climb out of it.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

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
  const name = options.name ?? 'relay';
  if (!NAME.test(name)) {
    throw usageError(
      `[tunnelmux] --name must be letters, digits, ".", "_" or "-" (up to 63, not starting with a symbol), got ${JSON.stringify(name)}`,
    );
  }
  const socket = options.socket ? path.resolve(options.socket) : socketPath(name);
  const key = await readSessionKeyFile(options.keyFile);
  const control = relayInstance({
    name,
    listen: formatAddress(listen),
    target: formatAddress(targetAddress),
    windowMs: windowMs ?? SESSION_DEFAULTS.windowMs,
  });
  let metricsUrl: string | undefined;
  const controlServer = new ControlServer(socket, {
    instance: control.instance,
    kind: 'relay',
    recent: control.recent,
    info: () => {
      const { listen: at, target: to, windowMs: window } = control.instance.status() as RelayStatus;
      return {
        kind: 'relay',
        pid: process.pid,
        name,
        listen: at,
        target: to,
        windowMs: window,
        socket,
        metrics: metricsUrl,
        process: processFigures(),
      };
    },
  });
  // The socket first: a second relay of the same name is refused before it takes a port.
  await controlServer.start();
  let prometheus: ReturnType<typeof createRelayPrometheus> | undefined;
  const emit = (event: RelayEvent) => {
    prometheus?.observe(event);
    const text = describeRelayEvent(event);
    control.observe(event, text);
    if (options.json) printLine({ ...event, time: Date.now() });
    else process.stdout.write(`${text}\n`);
  };
  const server = await createRelay({ target: targetAddress, listen, key, windowMs, onEvent: emit }).catch(
    async (error: unknown) => {
      await controlServer.close();
      throw error;
    },
  );
  prometheus = createRelayPrometheus(() => server.metrics());
  control.attach(server, formatAddress(server.address), prometheus.registry);
  const metricsServer = metricsAt
    ? await serveMetrics(
        () => prometheus.registry.metrics(),
        prometheus.registry.contentType,
        metricsAt,
      ).catch(async (error: unknown) => {
        await server.close();
        await controlServer.close();
        throw error;
      })
    : undefined;
  metricsUrl = metricsServer ? `http://${serverAddress(metricsServer)}/metrics` : undefined;
  if (options.json) {
    printLine({
      type: 'ready',
      pid: process.pid,
      listen: formatAddress(server.address),
      target: formatAddress(targetAddress),
      socket,
      metrics: metricsUrl,
      time: Date.now(),
    });
  } else {
    process.stdout.write(`${colors.dim(`control socket ${socket} (tunnelmux status --name ${name})`)}\n`);
  }
  const stop = (signal: NodeJS.Signals) => {
    const why = signalName(signal);
    void (async () => {
      if (!options.json)
        process.stderr.write(`${colors.dim(`stopping the relay (${why}; ${why} again to exit at once)`)}\n`);
      void closeServer(metricsServer);
      await server.close();
      await controlServer.close().catch(() => undefined);
      control.close();
      if (options.json) printLine({ type: 'stopped', time: Date.now(), metrics: server.metrics() });
      process.exit(0);
    })();
  };
  onStopSignals(['SIGINT', 'SIGTERM', 'SIGHUP'], {
    stop,
    // Sessions' target connections close with the process; there is no tool process to end.
    force: (signal) => exitNow(signal, { socket, json: Boolean(options.json) }),
  });
  await new Promise(() => undefined);
}
