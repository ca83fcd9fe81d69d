import { isDeepStrictEqual } from 'node:util';
import type { PathConfig, ServiceConfig } from './schema';

/** A path as its manager runs it: priority, target and protocol resolved against its service. */
export interface PathSpec {
  id: string;
  provider: string;
  priority: number;
  mode: 'access' | 'expose';
  target?: { host: string; port: number };
  protocol?: 'ssh' | 'tcp';
  options: Record<string, unknown>;
}

/** The spec core's manager takes for path `index` of `service`: list order is the default priority. */
export function pathSpec(service: ServiceConfig, path: PathConfig, index: number): PathSpec {
  return {
    id: path.id,
    provider: path.provider,
    priority: path.priority ?? index + 1,
    mode: path.mode,
    target: path.target ?? service.target,
    protocol: path.protocol ?? service.protocol,
    options: path.options ?? {},
  };
}

/** The failover settings a service runs with, its `strategy` folded in when it sets one. */
export function failoverOf(service: ServiceConfig): ServiceConfig['failover'] & { strategy?: string } {
  return service.strategy ? { ...service.failover, strategy: service.strategy } : service.failover;
}

/** What changes in one service that exists before and after. */
export interface ServiceDiff {
  name: string;
  /** The service as it is now written. */
  next: ServiceConfig;
  addedPaths: PathSpec[];
  removedPaths: string[];
  /** New specs of paths whose settings changed (same id): started before the old one drains. */
  changedPaths: PathSpec[];
  /** The new failover settings, when they (or the strategy) changed. */
  failover?: ServiceConfig['failover'] & { strategy?: string };
  /** The new front door address, when it changed (undefined: the service no longer listens). */
  listen?: { from?: string | number; to?: string | number };
  /** The drain setting changed: nothing to restart, the new value is used from now on. */
  drain?: number;
  /** Settings a running service cannot take without a restart of its front door (protocol, resume). */
  needsRestart: string[];
}

/** Everything a reload must do, and nothing more; unchanged services and paths appear nowhere. */
export interface ConfigDiff {
  addedServices: ServiceConfig[];
  removedServices: ServiceConfig[];
  changedServices: ServiceDiff[];
}

/** The difference between the running services and a newly loaded config; pure. */
export function diffServices(before: readonly ServiceConfig[], after: readonly ServiceConfig[]): ConfigDiff {
  const old = new Map(before.map((service) => [service.name, service]));
  const next = new Map(after.map((service) => [service.name, service]));
  const changedServices: ServiceDiff[] = [];
  for (const [name, service] of next) {
    const previous = old.get(name);
    if (!previous) continue;
    const change = diffService(previous, service);
    if (change) changedServices.push(change);
  }
  return {
    addedServices: after.filter((service) => !old.has(service.name)),
    removedServices: before.filter((service) => !next.has(service.name)),
    changedServices,
  };
}

function diffService(before: ServiceConfig, after: ServiceConfig): ServiceDiff | undefined {
  const oldSpecs = new Map(before.paths.map((path, index) => [path.id, pathSpec(before, path, index)]));
  const newSpecs = after.paths.map((path, index) => pathSpec(after, path, index));
  const newIds = new Set(newSpecs.map((spec) => spec.id));
  const change: ServiceDiff = {
    name: after.name,
    next: after,
    addedPaths: newSpecs.filter((spec) => !oldSpecs.has(spec.id)),
    removedPaths: [...oldSpecs.keys()].filter((id) => !newIds.has(id)),
    changedPaths: newSpecs.filter((spec) => {
      const previous = oldSpecs.get(spec.id);
      return previous !== undefined && !isDeepStrictEqual(previous, spec);
    }),
    needsRestart: [],
  };
  if (!isDeepStrictEqual(failoverOf(before), failoverOf(after))) change.failover = failoverOf(after);
  if (before.listen !== after.listen) change.listen = { from: before.listen, to: after.listen };
  if (before.drain !== after.drain) change.drain = after.drain;
  if (before.protocol !== after.protocol) change.needsRestart.push('protocol');
  if (!isDeepStrictEqual(before.resume, after.resume)) change.needsRestart.push('resume');
  const changed =
    change.addedPaths.length > 0 ||
    change.removedPaths.length > 0 ||
    change.changedPaths.length > 0 ||
    change.failover !== undefined ||
    change.listen !== undefined ||
    change.drain !== undefined ||
    change.needsRestart.length > 0;
  return changed ? change : undefined;
}

/** The `config-reloaded` lists: services by name, paths as `service/path`, settings as `service:setting`. */
export function describeDiff(diff: ConfigDiff): { added: string[]; removed: string[]; changed: string[] } {
  const added = diff.addedServices.map((service) => service.name);
  const removed = diff.removedServices.map((service) => service.name);
  const changed: string[] = [];
  for (const service of diff.changedServices) {
    added.push(...service.addedPaths.map((spec) => `${service.name}/${spec.id}`));
    removed.push(...service.removedPaths.map((id) => `${service.name}/${id}`));
    changed.push(...service.changedPaths.map((spec) => `${service.name}/${spec.id}`));
    if (service.failover) changed.push(`${service.name}:failover`);
    if (service.listen) changed.push(`${service.name}:listen`);
    if (service.drain !== undefined) changed.push(`${service.name}:drain`);
    changed.push(...service.needsRestart.map((setting) => `${service.name}:${setting}`));
  }
  return { added, removed, changed };
}
