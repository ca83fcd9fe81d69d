import type http from 'node:http';
import path from 'node:path';
import type { TunnelmuxEvent } from '@tunnelmux/core';
import { processFigures } from '../control/process-figures';
import { ControlServer } from '../control/server';
import { socketPath } from '../control/socket-path';
import { type AttachedDashboard, attachDashboard } from '../dashboard/attach';
import { formatFailure } from '../discovery/load';
import { type ExposeRequest, type Prepared, prepare } from '../engine';
import { attachHistory } from '../history/attach';
import { attachHooks, withEvents } from '../hooks/attach';
import { EventSink } from '../hooks/event-sink';
import { formatEvent } from '../render/events';
import { LiveView } from '../render/live-view';
import { readyLine, readyPaths } from '../services/ready';
import { reloadTriggers } from '../services/reload-triggers';
import { Services } from '../services/runtime';
import { formatAddress, isLoopback, parseAddress } from '../util/address';
import { CliError, messageOf, usageError } from '../util/errors';
import { closeServer, serveMetrics, serverAddress } from '../util/metrics-server';
import { colors, printLine } from '../util/output';
import { slowStopReporter } from '../util/slow-stop';
import { exitNow, onStopSignals, signalName } from '../util/stop-signals';

export interface UpOptions {
  config?: string;
  listen?: string;
  name?: string;
  socket?: string;
  metricsListen?: string;
  metricsPublic?: boolean;
  json?: boolean;
  /** Reload when the config file changes (debounced). */
  watch?: boolean;
  /** `--dashboard [addr]`: serve the web page and HTTP API (true: on a free loopback port). */
  dashboard?: boolean | string;
  dashboardPublic?: boolean;
  /** From `tunnelmux expose`: publish a local port instead of running the config's paths. */
  expose?: ExposeRequest;
}

// Kinds of event that would drown the plain log; they still go to --json and the live view's figures.
const QUIET = new Set(['probe', 'metrics', 'log']);
const RECENT = 1000;

/** `tunnelmux up`: open every path, serve the front door and the control socket, render until stopped. */
export async function up(options: UpOptions): Promise<void> {
  const listenAt = options.listen ? parseAddress(options.listen, '--listen') : undefined;
  const metricsAt = options.metricsListen
    ? parseAddress(options.metricsListen, '--metrics-listen')
    : undefined;
  if (metricsAt && !isLoopback(metricsAt.host) && !options.metricsPublic) {
    throw usageError(
      `[tunnelmux] --metrics-listen ${options.metricsListen} is not a loopback address; add --metrics-public to serve metrics beyond this machine`,
    );
  }
  // `expose --resume`: a relay in this process sits in front of the port; the providers publish the relay.
  const relay = options.expose?.resume ? await startExposeRelay(options.expose, options.json) : undefined;
  const expose =
    relay && options.expose
      ? { ...options.expose, port: relay.address.port, host: relay.address.host }
      : options.expose;
  let prepared: Prepared;
  try {
    prepared = await prepare(options.config, expose);
  } catch (error) {
    await relay?.close();
    throw error;
  }
  const { config } = prepared.loaded;
  const json = Boolean(options.json);
  const tty = !json && Boolean(process.stdout.isTTY);
  const note = (text: string, level: 'warn' | 'error' = 'warn') => {
    if (json) printLine({ type: 'cli', level, time: Date.now(), message: text });
    else process.stderr.write(`${level === 'error' ? colors.red(text) : colors.yellow(text)}\n`);
  };
  for (const entry of prepared.providers.values())
    for (const warning of entry.warnings) note(`[tunnelmux] ${warning}`);
  for (const failure of prepared.failures) note(formatFailure(failure), 'error');
  if (prepared.runnable.length === 0) {
    throw new CliError(
      '[tunnelmux] no path can start: none of the providers it needs could be loaded (see above)',
    );
  }

  const name = options.name ?? config.name ?? (options.expose ? 'expose' : 'default');
  const socket = options.socket ? path.resolve(options.socket) : socketPath(name);
  let services: Services;
  try {
    services = await Services.create(prepared, listenAt);
  } catch (error) {
    await relay?.close();
    throw error;
  }
  // One stream for everything shown and served: every service's events and the CLI's own (hook-failed).
  const sink = new EventSink().forward(services.events);
  const hooks = attachHooks(config.on, sink, { cwd: prepared.loaded.dir, instance: name });
  const history = await attachHistory(sink, prepared.loaded, name, (text) => note(text));

  const recent: TunnelmuxEvent[] = [];
  sink.on((event) => {
    recent.push(event);
    if (recent.length > RECENT) recent.shift();
  });

  let metricsServer: http.Server | undefined;
  const singleListen = () => {
    const doors = services.doors();
    return doors.length === 1 ? doors[0]?.listen : undefined;
  };
  // `tunnelmux expose` builds its config from the command line: there is no file to read again.
  const reload = options.expose ? undefined : () => services.reload();
  let dashboard: AttachedDashboard | undefined;
  const control = new ControlServer(socket, {
    instance: withEvents(services, sink),
    paths: services,
    recent: () => recent,
    reload,
    dashboard: () => dashboard?.address,
    info: () => ({
      pid: process.pid,
      name,
      config: prepared.loaded.file,
      listen: singleListen(),
      services: services.doors(),
      metrics: metricsServer ? serverAddress(metricsServer) : undefined,
      process: processFigures(),
    }),
  });

  let view: LiveView | undefined;
  let stopping: Promise<void> | undefined;
  let triggers: { close(): void } | undefined;
  const shutdown = (code: number, why?: string) => {
    stopping ??= (async () => {
      triggers?.close();
      view?.stop();
      if (why && !json) process.stderr.write(`${colors.dim(why)}\n`);
      const slow = slowStopReporter();
      slow.stage('the metrics and dashboard servers');
      await Promise.allSettled([closeServer(metricsServer), dashboard?.close()]);
      slow.stage('the services: front doors draining their connections, then paths stopping', () =>
        services.stopping(),
      );
      await services.shutdown();
      slow.stage('the hooks');
      await hooks?.close();
      history?.close();
      slow.stage('the relay');
      await relay?.close();
      slow.stage('the control socket');
      await control.close().catch(() => undefined);
      slow.done();
      if (json) printLine({ type: 'stopped', time: Date.now(), code });
      process.exit(code);
    })();
    return stopping;
  };
  // SIGHUP and --watch reload; a refused config is reported and the running one stays. Without reload, SIGHUP stops.
  onStopSignals(reload ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'], {
    stop: (signal) =>
      void shutdown(
        0,
        `stopping every path (${signalName(signal)}; ${signalName(signal)} again to exit at once)`,
      ),
    // The stop hangs or is too slow for the user: exit now. The reaper ends the tool processes left.
    force: (signal) =>
      exitNow(signal, {
        socket,
        json,
        afterwards: "tunnelmux's reaper ends the tool processes still running",
      }),
  });
  if (reload)
    triggers = reloadTriggers(prepared.loaded.file, reload, { watch: Boolean(options.watch), note });

  try {
    await control.start();
  } catch (error) {
    triggers?.close();
    await services.shutdown();
    await hooks?.close(0);
    history?.close();
    await relay?.close();
    throw error;
  }

  // The front doors and metrics before any path: a taken port is reported before a single tunnel is opened.
  try {
    await services.listen();
  } catch (error) {
    note(messageOf(error), 'error');
    return shutdown(1);
  }
  if (metricsAt) {
    try {
      metricsServer = await serveMetrics(
        () => services.prometheus(),
        services.prometheusContentType,
        metricsAt,
      );
    } catch (error) {
      note(`[tunnelmux] cannot serve metrics on ${formatAddress(metricsAt)}: ${messageOf(error)}`, 'error');
      return shutdown(1);
    }
  }

  try {
    const asked = { flag: options.dashboard, public: options.dashboardPublic, config: config.dashboard };
    dashboard = await attachDashboard(asked, {
      handlers: control.handlers,
      socket,
      history: history?.provider,
    });
  } catch (error) {
    note(messageOf(error), 'error');
    return shutdown(error instanceof CliError ? error.exitCode : 1);
  }
  if (dashboard && !json) process.stderr.write(`dashboard: ${dashboard.address.open}\n`);

  if (json) {
    sink.on((event) => printLine(event));
  } else if (tty) {
    view = new LiveView(withEvents(services, sink), { socket, name });
    view.start();
  } else {
    sink.on((event) => {
      if (
        !QUIET.has(event.type) ||
        (event.type === 'log' && (event.level === 'warn' || event.level === 'error'))
      ) {
        process.stdout.write(`${formatEvent(event)}\n`);
      }
    });
  }
  if (!tty && !json)
    process.stdout.write(`opening ${prepared.runnable.length} path(s); control socket ${socket}\n`);

  const started = await services.start();
  if (stopping) return stopping;
  const results = started.flatMap((entry) =>
    entry.results.map((result) => ({ ...result, service: entry.service })),
  );
  const several = started.length > 1;
  for (const result of results) {
    if (!result.ok)
      note(
        `[tunnelmux] path "${several ? `${result.service}/${result.id}` : result.id}" did not open: ${messageOf(result.error)}`,
        'error',
      );
  }
  if (results.every((result) => !result.ok && result.status?.state === 'failed')) {
    return shutdown(1, 'every path failed for good (fatal errors above); nothing to run');
  }

  const status = services.status();
  const ready = {
    type: 'ready',
    time: Date.now(),
    pid: process.pid,
    socket,
    listen: singleListen(),
    metrics: metricsServer ? `http://${serverAddress(metricsServer)}/metrics` : undefined,
    dashboard: dashboard?.address.open,
    history: history?.file,
    primary: status.primary,
    // Configured paths that never started because their provider did not load.
    notStarted: services.notStarted(),
    ...readyPaths(status),
  };
  if (json) printLine(ready);
  else if (view) view.ready(ready.listen, ready.metrics);
  else process.stdout.write(readyLine(status, ready.listen, ready.metrics, socket, ready.notStarted));
  // Runs until a signal; the control socket and timers keep the process alive.
  await new Promise<never>(() => undefined);
}

/** The relay of `expose --resume`, in front of the exposed port, on a free loopback port. */
async function startExposeRelay(request: ExposeRequest, json: boolean | undefined) {
  const { createRelay, readSessionKeyFile } = await import('@tunnelmux/core/session');
  const key = await readSessionKeyFile(path.resolve(request.resume?.keyFile ?? ''));
  return createRelay({
    target: { host: request.host ?? '127.0.0.1', port: request.port },
    listen: { host: '127.0.0.1', port: 0 },
    key,
    onEvent: (event) => {
      // What a user must see: refused keys (with the peer) and sessions that end badly; the rest in --json.
      if (json) printLine({ ...event, type: `relay-${event.type}`, time: Date.now() });
      else if (event.type === 'key-refused')
        process.stderr.write(colors.yellow(`relay: refused a wrong key from ${event.peer}\n`));
    },
  });
}
