import type { PathStatus } from '@tunnelmux/core';
import type { ServicesStatus } from './runtime';

const brief = (path: PathStatus) => ({
  id: path.id,
  provider: path.provider,
  state: path.state,
  pid: path.pid,
  endpoint: path.endpoint,
});

/** The paths of `up`'s ready line: today's top-level list, and one entry per service. */
export function readyPaths(status: ServicesStatus) {
  return {
    paths: status.paths
      ? status.paths.map(brief)
      : status.services.flatMap((service) =>
          service.paths.map((path) => ({ ...brief(path), service: service.name })),
        ),
    services: status.services.map((service) => ({
      name: service.name,
      listen: service.listen,
      primary: service.primary,
      paths: service.paths.map(brief),
    })),
  };
}

/** `ready: 2/2 paths up, primary a, listening on …; control …` (one clause per service when there are several). */
export function readyLine(
  status: ServicesStatus,
  listen: string | undefined,
  metrics: string | undefined,
  socket: string,
  skipped: string[],
): string {
  const all = status.services.flatMap((service) => service.paths);
  const up = all.filter((p) => p.state === 'connected').length;
  // Every configured path counts: one whose provider did not load is not up.
  const total = all.length + skipped.length;
  const services =
    status.services.length > 1 || !status.paths
      ? `, ${status.services.length} services (${status.services
          .map(
            (service) =>
              `${service.name}: primary ${service.primary ?? 'none'}${service.listen ? ` on ${service.listen}` : ''}`,
          )
          .join('; ')})`
      : `, primary ${status.primary ?? 'none'}`;
  return (
    `ready: ${up}/${total} paths up` +
    (skipped.length > 0 ? `, ${skipped.length} not started (${skipped.join('; ')})` : '') +
    services +
    (listen ? `, listening on ${listen}` : '') +
    (metrics ? `, metrics ${metrics}` : '') +
    `; control ${socket}\n`
  );
}
