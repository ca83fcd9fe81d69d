import { failoverSchema } from '@tunnelmux/core/config';
import type { z } from 'zod';
import { type ConfigProblem, describe } from './load';
import {
  type configSchema,
  type ExposeConfig,
  type PathConfig,
  type ServiceConfig,
  TARGET_EXPECTED,
} from './schema';
import { DEFAULT_DRAIN_MS } from './services-schema';

type Parsed = z.output<typeof configSchema>;
type At = (fieldPath: readonly PropertyKey[], key?: boolean) => { line: number; col: number };

/** The service the single-service form (top-level listen, target, paths) stands for. */
export const DEFAULT_SERVICE = 'default';
/** The service a top-level `expose:` becomes next to `services:`. */
export const EXPOSE_SERVICE = 'expose';

// Fields that belong to one service: with `services:` they must move into a service.
const SERVICE_FIELDS = ['listen', 'target', 'protocol', 'paths', 'resume'] as const;

/** One expose path per provider and port; ids are the provider's, or `<provider>-<port>` for several ports. */
export function exposePaths(expose: ExposeConfig | ExposeConfig[]): PathConfig[] {
  const ports = Array.isArray(expose) ? expose : [expose];
  return ports.flatMap((entry) => {
    const target = { host: entry.host ?? '127.0.0.1', port: entry.port };
    return entry.via.map((provider) => ({
      id: ports.length > 1 ? `${provider}-${entry.port}` : provider,
      provider,
      mode: 'expose' as const,
      target,
      protocol: undefined,
      priority: undefined,
      options: entry.options?.[provider] ?? {},
    }));
  });
}

// Where each expose path of `exposePaths` is written: its provider in `via`, and its options.
function exposeFields(
  expose: ExposeConfig | ExposeConfig[],
): { path: PropertyKey[]; options: PropertyKey[] }[] {
  const ports = Array.isArray(expose) ? expose : [expose];
  return ports.flatMap((entry, index) => {
    const base = Array.isArray(expose) ? ['expose', index] : ['expose'];
    return entry.via.map((provider, at) => ({
      path: [...base, 'via', at],
      options: [...base, 'options', provider],
    }));
  });
}

/**
 * The config as a list of services. Top-level `failover`, `strategy` and `drain` are defaults every service
 * overrides field by field; `raw` is the file's data before defaults were filled in, so that "not written" and
 * "written as the default" stay apart when merging.
 */
export function toServices(
  parsed: Parsed,
  raw: Record<string, unknown>,
  file: string,
  at: At,
): { services: ServiceConfig[]; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const problem = (fieldPath: PropertyKey[], value: unknown, message: string, key = false) =>
    problems.push({ file, ...at(fieldPath, key), field: fieldPath.map(String).join('.'), value, message });
  const rawFailover = asRecord(raw.failover);
  const expose = parsed.expose
    ? { paths: exposePaths(parsed.expose), fields: exposeFields(parsed.expose) }
    : undefined;

  if (!parsed.services) {
    const written = parsed.paths ?? [];
    const paths = [...written, ...(expose?.paths ?? [])];
    if (paths.length === 0) {
      problems.push({
        file,
        line: 1,
        col: 1,
        field: 'paths',
        value: undefined,
        message: 'is missing: list at least one path under paths, or add an expose section',
      });
    }
    const service: ServiceConfig = {
      name: DEFAULT_SERVICE,
      listen: parsed.listen,
      target: parsed.target,
      protocol: parsed.protocol,
      strategy: parsed.strategy,
      failover: mergeFailover(rawFailover, undefined),
      resume: parsed.resume,
      drain: parsed.drain ?? DEFAULT_DRAIN_MS,
      paths,
      field: [],
      pathFields: [
        ...written.map((_, index) => ['paths', index]),
        ...(expose?.fields.map((f) => f.path) ?? []),
      ],
      optionsFields: [
        ...written.map((_, index) => ['paths', index, 'options']),
        ...(expose?.fields.map((f) => f.options) ?? []),
      ],
    };
    strategyClash(service, rawFailover?.strategy, problem);
    return { services: [service], problems: [...problems, ...serviceChecks(service, file, at)] };
  }

  for (const field of SERVICE_FIELDS) {
    if (raw[field] !== undefined) {
      problem(
        [field],
        raw[field],
        `belongs to one service when services: is used; move it into each service (services.<name>.${field}), or drop services: for the single-service form`,
        true,
      );
    }
  }
  const rawServices = asRecord(raw.services) ?? {};
  const services: ServiceConfig[] = Object.entries(parsed.services).map(([name, entry]) => {
    const field = ['services', name];
    let failover = mergeFailover(rawFailover, undefined);
    try {
      failover = mergeFailover(rawFailover, asRecord(asRecord(rawServices[name])?.failover));
    } catch (error) {
      problem(
        [...field, 'failover'],
        undefined,
        `with the top-level defaults merged in, ${(error as Error).message}`,
      );
    }
    return {
      name,
      listen: entry.listen,
      target: entry.target,
      protocol: entry.protocol,
      strategy: entry.strategy ?? parsed.strategy,
      failover,
      resume: entry.resume,
      drain: entry.drain ?? parsed.drain ?? DEFAULT_DRAIN_MS,
      paths: entry.paths,
      field,
      pathFields: entry.paths.map((_, index) => [...field, 'paths', index]),
      optionsFields: entry.paths.map((_, index) => [...field, 'paths', index, 'options']),
    };
  });
  if (services.length === 0)
    problem(
      ['services'],
      raw.services,
      'must name at least one service, e.g. services: { ssh: { listen, target, paths } }',
    );
  if (expose) {
    if (parsed.services[EXPOSE_SERVICE]) {
      problem(
        ['expose'],
        undefined,
        `would run as a service named "${EXPOSE_SERVICE}", and services.${EXPOSE_SERVICE} already exists; rename that service`,
        true,
      );
    } else {
      services.push({
        name: EXPOSE_SERVICE,
        failover: mergeFailover(rawFailover, undefined),
        strategy: parsed.strategy,
        drain: parsed.drain ?? DEFAULT_DRAIN_MS,
        paths: expose.paths,
        field: ['expose'],
        pathFields: expose.fields.map((f) => f.path),
        optionsFields: expose.fields.map((f) => f.options),
      });
    }
  }
  for (const service of services) {
    const own = asRecord(asRecord(rawServices[service.name])?.failover)?.strategy;
    strategyClash(service, own ?? rawFailover?.strategy, problem);
    problems.push(...serviceChecks(service, file, at));
  }
  return { services, problems };
}

/** `strategy:` is the short way to write `failover.strategy`; both, disagreeing, is refused. */
function strategyClash(
  service: ServiceConfig,
  written: unknown,
  problem: (fieldPath: PropertyKey[], value: unknown, message: string) => void,
): void {
  if (!service.strategy || written === undefined || written === service.strategy) return;
  problem(
    [...service.field, 'strategy'],
    service.strategy,
    `is ${JSON.stringify(service.strategy)} but failover.strategy says ${JSON.stringify(written)}; keep one of them`,
  );
}

/** Top-level failover defaults, then the service's own fields over them; core's defaults fill the rest. */
function mergeFailover(
  defaults: Record<string, unknown> | undefined,
  own: Record<string, unknown> | undefined,
): ServiceConfig['failover'] {
  const result = failoverSchema.safeParse({ ...defaults, ...own });
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(
      `failover.${issue?.path.map(String).join('.') ?? ''} ${issue?.message ?? 'is not valid'}`,
    );
  }
  return result.data;
}

/** Rules a per-field schema cannot say: ids unique within a service, a target for every path. */
function serviceChecks(service: ServiceConfig, file: string, at: At): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, number>();
  const label = (fieldPath: readonly PropertyKey[]) => fieldPath.map(String).join('.');
  service.paths.forEach((entry, index) => {
    const where = service.pathFields[index] ?? service.field;
    // An expose path is written as a provider in `via`: point there; a written path at its id.
    const written = where[where.length - 2] !== 'via';
    const idField = written ? [...where, 'id'] : where;
    const first = seen.get(entry.id);
    if (first !== undefined) {
      const firstWhere = service.pathFields[first] ?? [];
      const firstField = firstWhere[firstWhere.length - 2] !== 'via' ? [...firstWhere, 'id'] : firstWhere;
      problems.push({
        file,
        ...at(idField),
        field: label(idField),
        value: entry.id,
        message: `must be unique${service.field.length > 0 ? ' within the service' : ''}, got ${describe(entry.id)} which ${label(firstField)} already uses`,
      });
    } else seen.set(entry.id, index);
    if (!entry.target && !service.target) {
      const targetField = written ? [...where, 'target'] : where;
      problems.push({
        file,
        ...at(where),
        field: label(targetField),
        value: undefined,
        message: `is missing: set a ${service.field.length > 0 ? `target on the service (${label([...service.field, 'target'])})` : 'top-level target'} (${TARGET_EXPECTED}) or a target on this path`,
      });
    }
  });
  return problems;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
