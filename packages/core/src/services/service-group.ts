import type { Histogram, Registry } from 'prom-client';
import { ConfigError, StateError } from '../errors';
import { EventBus } from '../events/event-bus';
import type { EventInput, TunnelmuxEvent } from '../events/types';
import { createManager, type Manager, type ManagerConfig, type ManagerStatus } from '../manager/manager';
import { createPrometheusRegistry, sessionStallHistogram } from '../metrics/prometheus';
import type { MetricsSnapshot } from '../metrics/types';

/** What `createServiceGroup` accepts. */
export interface ServiceGroupOptions {
  /** Events buffered per slow subscriber of the merged stream before the oldest are dropped (default 1024). */
  eventBufferSize?: number;
}

/** One service in `ServiceGroup.status()`: its name and its manager's status. */
export interface ServiceStatus extends ManagerStatus {
  name: string;
}

/** Every service of a group, in the order they were added. */
export interface ServiceGroupStatus {
  services: ServiceStatus[];
}

/** Every service's metrics snapshot (each carries its `service`). */
export interface ServiceGroupMetrics {
  time: number;
  services: MetricsSnapshot[];
}

/** Events a group's owner may announce on the merged stream (the managers emit everything else). */
export type GroupEventInput = Extract<EventInput, { type: 'config-reloaded' | 'warning' }>;

/**
 * Several services in one process: one Manager per service name, one merged event stream (every event names
 * its service), one status, one Prometheus exposition with a `service` label.
 */
export class ServiceGroup implements AsyncDisposable {
  /** The merged events of every service: `group.events.subscribe('failover')`; each event carries `service`. */
  readonly events: Pick<EventBus, 'subscribe' | 'on'>;
  private readonly bus: EventBus;
  private readonly managers = new Map<string, { manager: Manager; detach: () => void }>();
  // Services shutting down, by their shutdown, until it settles.
  private readonly leaving = new Map<Promise<void>, { name: string; manager: Manager }>();
  private readonly registry: Registry;
  private readonly stalls: Histogram<'service'>;
  private closing?: Promise<void>;

  constructor(options: ServiceGroupOptions = {}) {
    const size = options.eventBufferSize ?? 1024;
    if (!Number.isInteger(size) || size < 1 || size > 1_000_000) {
      throw ConfigError.invalid('eventBufferSize', size, 'a whole number from 1 to 1000000');
    }
    this.bus = new EventBus(size);
    this.events = { subscribe: this.bus.subscribe.bind(this.bus), on: this.bus.on.bind(this.bus) } as Pick<
      EventBus,
      'subscribe' | 'on'
    >;
    this.registry = createPrometheusRegistry(() => this.getMetrics().services);
    this.stalls = sessionStallHistogram(this.registry);
  }

  /** Create and hold the manager of service `name`; its events join the merged stream. */
  add(name: string, config: Omit<ManagerConfig, 'service'> = {}): Manager {
    this.assertOpen();
    if (this.managers.has(name)) {
      throw new ConfigError(`service "${name}" already exists; remove it first or pick another name`, {
        field: 'service',
        value: name,
      });
    }
    if ('service' in config && (config as ManagerConfig).service !== name) {
      throw ConfigError.invalid('service', (config as ManagerConfig).service, `"${name}" or nothing`, {
        hint: 'the group names the service: leave service out of the manager config',
      });
    }
    const manager = createManager({ ...config, service: name });
    const detach = manager.events.on((event) => this.forward(event));
    this.managers.set(name, { manager, detach });
    return manager;
  }

  /** The manager of service `name`, or undefined. */
  get(name: string): Manager | undefined {
    return this.managers.get(name)?.manager;
  }

  has(name: string): boolean {
    return this.managers.has(name);
  }

  /** Service names, in the order they were added. */
  names(): string[] {
    return [...this.managers.keys()];
  }

  /**
   * Remove service `name`: it leaves the group at once; its front doors stop accepting and their live
   * connections drain for up to `drainMs` (default each door's own `drainTimeout`) before they are cut; then its
   * paths stop. Resolves when it is gone.
   */
  remove(name: string, options: { drainMs?: number } = {}): Promise<void> {
    const entry = this.managers.get(name);
    if (!entry) {
      const known = this.names();
      return Promise.reject(
        new StateError(
          `no service "${name}"; ${known.length > 0 ? `services: ${known.join(', ')}` : 'the group has no service'}`,
        ),
      );
    }
    this.managers.delete(name);
    const gone = entry.manager.shutdown(options).finally(() => entry.detach());
    this.leaving.set(gone, { name, manager: entry.manager });
    void gone.finally(() => this.leaving.delete(gone)).catch(() => undefined);
    return gone;
  }

  /** Each service still shutting down, and what it waits for: `ssh: path(s) a (connected) stopping`. */
  stopping(): string[] {
    return [...this.leaving.values()].flatMap(({ name, manager }) => {
      const waits = manager.stopping();
      return waits ? [`${name}: ${waits}`] : [];
    });
  }

  /** Every service's status, in the order they were added. */
  status(): ServiceGroupStatus {
    return { services: [...this.managers].map(([name, { manager }]) => ({ name, ...manager.status() })) };
  }

  getMetrics(): ServiceGroupMetrics {
    return {
      time: Date.now(),
      services: [...this.managers.values()].map(({ manager }) => manager.getMetrics()),
    };
  }

  /** Every service's metrics in one Prometheus text exposition: each family once, series labelled by service. */
  prometheus(): Promise<string> {
    return this.registry.metrics();
  }

  get prometheusContentType(): string {
    return this.registry.contentType;
  }

  /** Announce a group-wide event (a reload's outcome, a warning) on the merged stream. */
  report(event: GroupEventInput): TunnelmuxEvent {
    return this.bus.emit(event);
  }

  /** Shut every service down and end the merged stream. Idempotent. */
  shutdown(options: { drainMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([
        ...this.names().map((name) => this.remove(name, options)),
        ...this.leaving.keys(),
      ]);
      this.bus.close();
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /** A manager's event on the merged stream, keeping its service; the group numbers it anew. */
  private forward(event: TunnelmuxEvent): void {
    const { time: _time, seq: _seq, ...input } = event;
    if (event.type === 'session-resumed') {
      this.stalls.observe({ service: event.service ?? 'default' }, event.stallMs / 1000);
    }
    this.bus.emit(input as EventInput);
  }

  private assertOpen(): void {
    if (this.closing) {
      throw new StateError('the service group is shut down; create a new one with createServiceGroup()');
    }
  }
}

/** Create a service group: `const group = createServiceGroup(); group.add('ssh', { target: 'devbox:22' })`. */
export function createServiceGroup(options: ServiceGroupOptions = {}): ServiceGroup {
  return new ServiceGroup(options);
}
