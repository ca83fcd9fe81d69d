import type {
  FrontDoor,
  Manager,
  ManagerStatus,
  MetricsSnapshot,
  PathStatus,
  Provider,
} from '@tunnelmux/core';
import type { ServiceGroup } from '@tunnelmux/core/services';
import {
  type ConfigDiff,
  describeDiff,
  diffServices,
  failoverOf,
  type PathSpec,
  pathSpec,
} from '../config/diff';
import { ConfigFileError, type ConfigProblem } from '../config/load';
import type { ServiceConfig } from '../config/schema';
import { DEFAULT_SERVICE } from '../config/services';
import { type Prepared, prepare, resumeSettings } from '../engine';
import { formatAddress, isLoopback, parseAddress } from '../util/address';
import { CliError, messageOf, usageError } from '../util/errors';
import type { ReloadReport } from './events';
import { retireDoor } from './retire-door';

/** One running service of the group: its manager, its front door and the paths that never started. */
interface RunningService {
  config: ServiceConfig;
  manager: Manager;
  door?: FrontDoor;
  /** Configured paths whose provider did not load, with why. */
  notStarted: string[];
}

/** A service's status: its name and front door, then its manager's status as `status` shows it today. */
export type ServiceStatus = ManagerStatus & { name: string; listen?: string };

/** What `status` answers: every service; the single-service form also keeps today's top-level fields. */
export type ServicesStatus = Partial<ManagerStatus> & { services: ServiceStatus[] };

/** The outcome of starting the paths of one service. */
export interface ServiceStart {
  service: string;
  results: Awaited<ReturnType<Manager['startMultiple']>>;
}

/**
 * Every service of one `up`: one manager and front door each, one event stream (each event carrying its
 * `service`), one status, one Prometheus text, and reload that applies only what changed.
 */
export class Services {
  /** Every service's events in one sequence, each with its `service`, and `config-reloaded`. */
  readonly events: ServiceGroup['events'];
  private readonly running = new Map<string, RunningService>();
  private readonly providers = new Map<string, Provider>();
  // Drains of old front doors and removed services run after reload answers; shutdown cuts them short.
  private readonly retiring = new Set<Promise<void>>();
  private readonly retiredDoors = new Set<FrontDoor>();
  // Reloads wait for start-up (front doors and first opens) to finish, then run one at a time.
  private opened!: () => void;
  private queue: Promise<unknown> = new Promise<void>((resolve) => {
    this.opened = resolve;
  });
  private closing?: Promise<void>;

  private constructor(
    private readonly group: ServiceGroup,
    private prepared: Prepared,
    /** `up --listen`: the front door of the only service, kept across reloads. */
    private readonly listenOverride?: { host: string; port: number },
  ) {
    this.events = group.events;
    for (const [id, entry] of prepared.providers) this.providers.set(id, entry.provider);
  }

  /** Managers for every service of a prepared config; nothing is opened yet. */
  static async create(prepared: Prepared, listen?: { host: string; port: number }): Promise<Services> {
    const services = prepared.loaded.config.services;
    if (listen && services.length > 1) {
      throw usageError(
        `[tunnelmux] --listen overrides the front door of a single service, and ${prepared.loaded.file} has ${services.length} (${services.map((s) => s.name).join(', ')}); set listen: in each service instead`,
      );
    }
    const { createServiceGroup } = await import('@tunnelmux/core/services');
    const group = new Services(createServiceGroup({ eventBufferSize: 4096 }), prepared, listen);
    for (const service of services) {
      group.running.set(service.name, await group.createService(group.withOverride(service), prepared));
    }
    return group;
  }

  /** The service names, in config order. */
  names(): string[] {
    return [...this.running.keys()];
  }

  /** Open every service's front door; a taken port is reported before a single tunnel opens. */
  async listen(): Promise<void> {
    for (const service of this.running.values())
      service.door = await this.openDoor(service.config, service.manager);
  }

  /** Open every path of every service, services in parallel. */
  async start(): Promise<ServiceStart[]> {
    try {
      return await Promise.all(
        [...this.running.values()].map(async (service) => ({
          service: service.config.name,
          results: await service.manager.startMultiple(this.specs(service.config, this.prepared)),
        })),
      );
    } finally {
      this.opened();
    }
  }

  /** Configured paths that never started (their provider did not load), as `path: why`. */
  notStarted(): string[] {
    const single = this.running.size === 1;
    return [...this.running.values()].flatMap((service) =>
      service.notStarted.map((line) => (single ? line : `${service.config.name}/${line}`)),
    );
  }

  /** Each service's front door address, for the ready line. */
  doors(): { service: string; listen?: string }[] {
    return [...this.running.values()].map((service) => ({
      service: service.config.name,
      listen: service.door ? formatAddress(service.door.address) : undefined,
    }));
  }

  status(): ServicesStatus {
    const services = [...this.running.values()].map((service) => ({
      name: service.config.name,
      listen: service.door ? formatAddress(service.door.address) : undefined,
      ...service.manager.status(),
    }));
    const [only] = services;
    // The single-service form keeps today's top-level fields, so scripts reading .primary keep working.
    if (only && services.length === 1 && only.name === DEFAULT_SERVICE) {
      const { name: _name, listen: _listen, ...today } = only;
      return { ...today, services };
    }
    return { services };
  }

  getMetrics(): MetricsSnapshot & { services: (MetricsSnapshot & { service: string })[] } {
    const services = [...this.running.values()].map((service) => ({
      service: service.config.name,
      ...service.manager.getMetrics(),
    }));
    const [only] = services;
    if (only && services.length === 1) return { ...only, services };
    const sum = (pick: (snapshot: MetricsSnapshot) => number) =>
      services.reduce((total, snapshot) => total + pick(snapshot), 0);
    return {
      time: Date.now(),
      primary: undefined,
      failovers: sum((s) => s.failovers),
      primaryChanges: sum((s) => s.primaryChanges),
      noHealthyPathMs: sum((s) => s.noHealthyPathMs),
      refusedConnections: sum((s) => s.refusedConnections),
      eventsDropped: sum((s) => s.eventsDropped),
      paths: services.flatMap((snapshot) =>
        snapshot.paths.map((path) => ({ ...path, service: snapshot.service })),
      ),
      services,
    };
  }

  /** One Prometheus text for every service; each series carries a `service` label. */
  prometheus(): Promise<string> {
    return this.group.prometheus();
  }

  get prometheusContentType(): string {
    return this.group.prometheusContentType;
  }

  // Path control: `--service` names the service, needed only when there are several.
  list(): (PathStatus & { service: string })[] {
    return [...this.running.values()].flatMap((service) =>
      service.manager.list().map((path) => ({ ...path, service: service.config.name })),
    );
  }

  setPrimary(id: string | undefined, service?: string): ServiceStatus {
    const running = this.pick(service, 'primary');
    running.manager.setPrimary(id);
    return this.serviceStatus(running);
  }

  enableAutoFailover(enabled: boolean, service?: string): ServiceStatus {
    const running = this.pick(service, 'failover');
    running.manager.enableAutoFailover(enabled);
    return this.serviceStatus(running);
  }

  restart(id: string, service?: string): Promise<PathStatus> {
    return this.pick(service, 'restart').manager.restart(id);
  }

  stop(id: string, service?: string): Promise<PathStatus> {
    return this.pick(service, 'stop').manager.stop(id);
  }

  /**
   * Read the config file again and apply only the difference. An invalid config is refused (ConfigFileError,
   * nothing changed); a valid one is applied as far as it can be, and what failed is reported with why.
   * Reloads run one at a time, in the order asked.
   */
  reload(): Promise<ReloadReport> {
    const run = this.queue.then(() => this.applyReload());
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** While shutting down, what is still awaited: front doors a reload retired, then each service (core's words). */
  stopping(): string[] {
    const retired = [...this.retiredDoors].map(
      (door) =>
        `front door ${formatAddress(door.address)} (retired by a reload) with ${door.connections().length} connection(s) open`,
    );
    return [...retired, ...this.group.stopping()];
  }

  /** Close every front door and manager, cutting drains still running. Idempotent. */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      // Front doors first (each manager closes its own), then paths; retired doors are cut short.
      await Promise.allSettled([...this.retiredDoors].map((door) => door.close({ drainTimeout: 0 })));
      await this.group.shutdown();
    })();
    return this.closing;
  }

  private async applyReload(): Promise<ReloadReport> {
    if (this.closing) throw new CliError('[tunnelmux] shutting down; nothing reloaded');
    const file = this.prepared.loaded.file;
    // Validate first: syntax, schema, options and providers; any problem leaves everything as it is.
    const next = await prepare(file);
    const missing = missingProviders(next);
    if (missing.length > 0) throw new ConfigFileError(missing);
    const target = next.loaded.config.services.map((service) => this.withOverride(service));
    const current = [...this.running.values()].map((service) => service.config);
    const diff = diffServices(current, target);
    for (const [id, entry] of next.providers) this.providers.set(id, entry.provider);
    const failed: ReloadReport['failed'] = [];
    await this.apply(diff, next, failed);
    this.prepared = next;
    const report: ReloadReport = { file: next.loaded.file, ...describeDiff(diff), failed };
    const { file: _file, ...lists } = report;
    this.group.report({ type: 'config-reloaded', ...lists });
    return report;
  }

  private async apply(diff: ConfigDiff, next: Prepared, failed: ReloadReport['failed']): Promise<void> {
    // Removed services stop accepting first, so an added service may take over their address (a move from the
    // single-service form to services: keeps its port); their live connections drain below.
    for (const config of diff.removedServices) await this.running.get(config.name)?.door?.stopAccepting();
    // Added services next: their clients are served as soon as the reload answers.
    for (const config of diff.addedServices) {
      let service: RunningService | undefined;
      try {
        service = await this.createService(config, next);
        service.door = await this.openDoor(config, service.manager);
        const results = await service.manager.startMultiple(this.specs(config, next));
        for (const result of results)
          if (!result.ok)
            failed.push({ item: `${config.name}/${result.id}`, reason: messageOf(result.error) });
        this.running.set(config.name, service);
      } catch (error) {
        if (this.group.has(config.name))
          await this.group.remove(config.name, { drainMs: 0 }).catch(() => undefined);
        failed.push({ item: config.name, reason: messageOf(error) });
      }
    }
    for (const change of diff.changedServices) {
      const service = this.running.get(change.name);
      if (service) await this.applyChange(service, change, failed);
    }
    for (const config of diff.removedServices) {
      const service = this.running.get(config.name);
      if (!service) continue;
      this.running.delete(config.name);
      // It leaves at once: its front door stops accepting, live connections drain, then its paths stop.
      this.track(this.group.remove(config.name, { drainMs: service.config.drain }));
    }
  }

  private async applyChange(
    service: RunningService,
    change: ConfigDiff['changedServices'][number],
    failed: ReloadReport['failed'],
  ): Promise<void> {
    const { manager } = service;
    const name = change.name;
    // What actually runs afterwards: a part that failed keeps its old setting, so the next reload retries it.
    const applied: ServiceConfig = { ...change.next };
    for (const provider of this.providers.values()) {
      if (!manager.providerNames().includes(provider.name)) manager.register(provider);
    }
    // New and replaced paths before any old one drains.
    const started = await Promise.all(
      change.addedPaths.map(async (spec) => {
        try {
          const status = await manager.start(spec);
          if (status.state !== 'connected')
            failed.push({ item: `${name}/${spec.id}`, reason: status.lastError ?? `it is ${status.state}` });
        } catch (error) {
          failed.push({ item: `${name}/${spec.id}`, reason: messageOf(error) });
          return spec.id;
        }
        return undefined;
      }),
    );
    for (const spec of change.changedPaths) {
      try {
        const replaced = await manager.replace(spec, { drainMs: change.next.drain });
        this.track(replaced.drained.then(() => undefined));
      } catch (error) {
        failed.push({ item: `${name}/${spec.id}`, reason: messageOf(error) });
        applied.paths = keepOld(applied, service.config, spec.id);
      }
    }
    // Out of rotation at once; live connections finish (bounded by drain), then the path stops and goes.
    for (const id of change.removedPaths)
      this.track(manager.drain(id, { timeoutMs: change.next.drain }).then(() => undefined));
    if (change.failover) {
      try {
        manager.reconfigure({ failover: change.failover });
      } catch (error) {
        failed.push({ item: `${name}:failover`, reason: messageOf(error) });
        applied.failover = service.config.failover;
        applied.strategy = service.config.strategy;
      }
    }
    if (change.listen) {
      try {
        // The new address is bound before the old one stops accepting.
        const door = await this.openDoor(change.next, manager);
        const old = service.door;
        service.door = door;
        if (old) this.retire(old, change.next.drain);
      } catch (error) {
        failed.push({ item: `${name}:listen`, reason: messageOf(error) });
        applied.listen = service.config.listen;
      }
    }
    for (const setting of change.needsRestart) {
      failed.push({
        item: `${name}:${setting}`,
        reason: `a running service cannot change its ${setting}; restart tunnelmux (or give the service a new name) to apply it`,
      });
      if (setting === 'protocol') applied.protocol = service.config.protocol;
      if (setting === 'resume') applied.resume = service.config.resume;
    }
    // A path that could not even be added is not running: leave it out so the next reload tries again.
    const notAdded = new Set(started.filter((id): id is string => id !== undefined));
    applied.paths = applied.paths.filter((path) => !notAdded.has(path.id));
    service.config = applied;
  }

  /** An old front door: it stops accepting now, its live connections finish (at most `drainMs`), then it closes. */
  private retire(door: FrontDoor, drainMs: number): void {
    this.retiredDoors.add(door);
    this.track(retireDoor(door, drainMs).finally(() => this.retiredDoors.delete(door)));
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      if (!this.closing)
        this.group.report({
          type: 'warning',
          message: `[tunnelmux] draining after a reload: ${messageOf(error)}`,
        });
    });
    this.retiring.add(tracked);
    void tracked.finally(() => this.retiring.delete(tracked));
  }

  private async createService(config: ServiceConfig, prepared: Prepared): Promise<RunningService> {
    const resume = config.resume ? await resumeSettings(config.resume, prepared.loaded.dir) : undefined;
    // The group names the manager's service and merges its events into the one stream.
    const manager = this.group.add(config.name, {
      target: config.target,
      protocol: config.protocol,
      failover: failoverOf(config),
      providers: [...this.providers.values()],
      resume,
    });
    const reasons = new Map(prepared.failures.map((failure) => [failure.id, failure.message]));
    const notStarted = config.paths
      .filter((path) => !prepared.providers.has(path.provider))
      .map(
        (path) => `${path.id}: ${reasons.get(path.provider) ?? `provider "${path.provider}" did not load`}`,
      );
    return { config, manager, notStarted };
  }

  private async openDoor(config: ServiceConfig, manager: Manager): Promise<FrontDoor | undefined> {
    if (config.listen === undefined) return undefined;
    const at = parseAddress(
      config.listen,
      config.name === DEFAULT_SERVICE ? 'listen' : `services.${config.name}.listen`,
    );
    try {
      // Writing a non-loopback address in the config or --listen is the explicit ask core wants.
      return await manager.listen({ ...at, allowAllInterfaces: !isLoopback(at.host) });
    } catch (error) {
      const message = messageOf(error);
      throw new CliError(
        message.startsWith('[tunnelmux]')
          ? message
          : `[tunnelmux] cannot listen on ${formatAddress(at)}${config.name === DEFAULT_SERVICE ? '' : ` (service ${config.name})`}: ${message}`,
        1,
        { cause: error },
      );
    }
  }

  /** The specs of a service's paths whose provider loaded. */
  private specs(config: ServiceConfig, prepared: Prepared): PathSpec[] {
    return config.paths
      .map((path, index) => ({ path, spec: pathSpec(config, path, index) }))
      .filter(({ path }) => prepared.providers.has(path.provider))
      .map(({ spec }) => spec);
  }

  private withOverride(service: ServiceConfig): ServiceConfig {
    return this.listenOverride ? { ...service, listen: formatAddress(this.listenOverride) } : service;
  }

  private serviceStatus(service: RunningService): ServiceStatus {
    return {
      name: service.config.name,
      listen: service.door ? formatAddress(service.door.address) : undefined,
      ...service.manager.status(),
    };
  }

  private pick(name: string | undefined, command: string): RunningService {
    if (name !== undefined) {
      const found = this.running.get(name);
      if (found) return found;
      throw Object.assign(
        usageError(`[tunnelmux] no service "${name}"; known services: ${this.names().join(', ')}`),
        { code: 'ERR_NO_SERVICE' },
      );
    }
    const [only] = this.running.values();
    if (only && this.running.size === 1) return only;
    throw Object.assign(
      usageError(
        `[tunnelmux] this instance runs ${this.running.size} services (${this.names().join(', ')}); name one: tunnelmux ${command} --service <name>`,
      ),
      { code: 'ERR_USAGE' },
    );
  }
}

/** Paths of a new config whose provider cannot be loaded: a reload refuses them, pointing at the line. */
function missingProviders(next: Prepared): ConfigProblem[] {
  const reasons = new Map(next.failures.map((failure) => [failure.id, failure]));
  return next.loaded.config.services.flatMap((service) =>
    service.paths.flatMap((path, index) => {
      if (next.providers.has(path.provider)) return [];
      const where = service.pathFields[index] ?? service.field;
      const field = where[where.length - 2] === 'via' ? where : [...where, 'provider'];
      const failure = reasons.get(path.provider);
      return [
        {
          ...next.loaded.position(field),
          field: field.map(String).join('.'),
          value: path.provider,
          message: `names provider "${path.provider}", which cannot be loaded: ${failure?.message ?? 'not found'}${failure ? `; ${failure.install}` : ''}`,
        },
      ];
    }),
  );
}

// The old version of one path, back in place of the new one that could not be applied.
function keepOld(applied: ServiceConfig, old: ServiceConfig, id: string) {
  const previous = old.paths.find((path) => path.id === id);
  return applied.paths.map((path) => (path.id === id && previous ? previous : path));
}
