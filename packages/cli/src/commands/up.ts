import type http from 'node:http';
import path from 'node:path';
import type { Manager, ManagerStatus, TunnelmuxEvent } from '@tunnelmux/core';
import { processFigures } from '../control/process-figures';
import { ControlServer } from '../control/server';
import { socketPath } from '../control/socket-path';
import { formatFailure } from '../discovery/load';
import { createEngine, type ExposeRequest, type Prepared, pathSpecs, prepare } from '../engine';
import { formatEvent } from '../render/events';
import { LiveView } from '../render/live-view';
import { formatAddress, isLoopback, parseAddress } from '../util/address';
import { CliError, messageOf, usageError } from '../util/errors';
import { closeServer, serveMetrics, serverAddress } from '../util/metrics-server';
import { colors, printLine } from '../util/output';

export interface UpOptions {
  config?: string;
  listen?: string;
  name?: string;
  socket?: string;
  metricsListen?: string;
  metricsPublic?: boolean;
  json?: boolean;
  /** From `tunnelmux expose`: publish a local port instead of running the config's paths. */
  expose?: ExposeRequest;
}

type FrontDoor = Awaited<ReturnType<Manager['listen']>>;

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

  const frontDoorAt =
    listenAt ?? (config.listen !== undefined ? parseAddress(config.listen, 'listen') : undefined);
  const name = options.name ?? config.name ?? (options.expose ? 'expose' : 'default');
  const socket = options.socket ? path.resolve(options.socket) : socketPath(name);
  const manager = await createEngine(prepared);

  const recent: TunnelmuxEvent[] = [];
  manager.events.on((event) => {
    recent.push(event);
    if (recent.length > RECENT) recent.shift();
  });

  let door: FrontDoor | undefined;
  let metricsServer: http.Server | undefined;
  const control = new ControlServer(socket, {
    instance: manager,
    paths: manager,
    recent: () => recent,
    info: () => ({
      pid: process.pid,
      name,
      config: prepared.loaded.file,
      listen: door ? doorAddress(door) : undefined,
      metrics: metricsServer ? serverAddress(metricsServer) : undefined,
      process: processFigures(),
    }),
  });

  let view: LiveView | undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = (code: number, why?: string) => {
    stopping ??= (async () => {
      view?.stop();
      if (why && !json) process.stderr.write(`${colors.dim(why)}\n`);
      // The front door first, so no new client lands on a path that is closing.
      await Promise.allSettled([door?.close(), closeServer(metricsServer)]);
      await manager.shutdown();
      await relay?.close();
      await control.close().catch(() => undefined);
      if (json) printLine({ type: 'stopped', time: Date.now(), code });
      process.exit(code);
    })();
    return stopping;
  };
  // `on`, not `once`: execa's signal-exit re-raises a signal it believes nobody else handles, and a spent
  // `once` listener no longer counts, so the process would die by the signal instead of exiting 0.
  process.on('SIGINT', () => void shutdown(0, 'stopping every path (Ctrl-C)'));
  process.on('SIGTERM', () => void shutdown(0, 'stopping every path (SIGTERM)'));
  process.on('SIGHUP', () => void shutdown(0, 'stopping every path (SIGHUP)'));

  try {
    await control.start();
  } catch (error) {
    await manager.shutdown();
    await relay?.close();
    throw error;
  }

  // The front door and metrics before any path: a taken port is reported before a single tunnel is opened.
  if (frontDoorAt) {
    try {
      // Writing a non-loopback address in the config or --listen is the explicit ask core wants.
      door = await manager.listen({ ...frontDoorAt, allowAllInterfaces: !isLoopback(frontDoorAt.host) });
    } catch (error) {
      const message = messageOf(error);
      note(
        message.startsWith('[tunnelmux]')
          ? message
          : `[tunnelmux] cannot listen on ${formatAddress(frontDoorAt)}: ${message}`,
        'error',
      );
      return shutdown(1);
    }
  }
  if (metricsAt) {
    try {
      metricsServer = await serveMetrics(
        () => manager.prometheus(),
        manager.prometheusContentType,
        metricsAt,
      );
    } catch (error) {
      note(`[tunnelmux] cannot serve metrics on ${formatAddress(metricsAt)}: ${messageOf(error)}`, 'error');
      return shutdown(1);
    }
  }

  if (json) {
    manager.events.on((event) => printLine(event));
  } else if (tty) {
    view = new LiveView(manager, { socket, name });
    view.start();
  } else {
    manager.events.on((event) => {
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

  const results = await manager.startMultiple(pathSpecs(prepared));
  if (stopping) return stopping;
  for (const result of results) {
    if (!result.ok) note(`[tunnelmux] path "${result.id}" did not open: ${messageOf(result.error)}`, 'error');
  }
  if (results.every((result) => !result.ok && result.status?.state === 'failed')) {
    return shutdown(1, 'every path failed for good (fatal errors above); nothing to run');
  }

  const status = manager.status();
  const ready = {
    type: 'ready',
    time: Date.now(),
    pid: process.pid,
    socket,
    listen: door ? doorAddress(door) : undefined,
    metrics: metricsServer ? `http://${serverAddress(metricsServer)}/metrics` : undefined,
    primary: status.primary,
    // Configured paths that never started because their provider did not load.
    notStarted: notStarted(prepared),
    paths: status.paths.map((p) => ({
      id: p.id,
      provider: p.provider,
      state: p.state,
      pid: p.pid,
      endpoint: p.endpoint,
    })),
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

/** Configured paths that were never started (their provider did not load), with why. */
function notStarted(prepared: Prepared): string[] {
  const reasons = new Map(prepared.failures.map((failure) => [failure.id, failure.message]));
  return prepared.loaded.config.paths
    .filter((p) => !prepared.runnable.includes(p))
    .map((p) => `${p.id}: ${reasons.get(p.provider) ?? `provider "${p.provider}" did not load`}`);
}

function readyLine(
  status: ManagerStatus,
  listen: string | undefined,
  metrics: string | undefined,
  socket: string,
  skipped: string[],
): string {
  const up = status.paths.filter((p) => p.state === 'connected').length;
  // Every configured path counts: one whose provider did not load is not up.
  const total = status.paths.length + skipped.length;
  return (
    `ready: ${up}/${total} paths up` +
    (skipped.length > 0 ? `, ${skipped.length} not started (${skipped.join('; ')})` : '') +
    `, primary ${status.primary ?? 'none'}` +
    (listen ? `, listening on ${listen}` : '') +
    (metrics ? `, metrics ${metrics}` : '') +
    `; control ${socket}\n`
  );
}

function doorAddress(door: FrontDoor): string {
  return formatAddress(door.address);
}
