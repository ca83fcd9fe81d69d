/** One service `tunnelmux init` writes. */
export interface ServiceAnswers {
  name: string;
  listen: string;
  target: string;
  protocol: 'ssh' | 'tcp';
}

// Starting points for well-known service names; hosts are reserved example names `doctor` reports.
const KNOWN: Record<string, Omit<ServiceAnswers, 'name'>> = {
  ssh: { listen: '127.0.0.1:2222', target: 'devbox.example:22', protocol: 'ssh' },
  postgres: { listen: '127.0.0.1:15432', target: 'db.example:5432', protocol: 'tcp' },
  db: { listen: '127.0.0.1:15432', target: 'db.example:5432', protocol: 'tcp' },
  web: { listen: '127.0.0.1:18080', target: 'web.example:80', protocol: 'tcp' },
};

/** A listen address, target and protocol for each name: known names get theirs, others the next free port. */
export function serviceDefaults(names: readonly string[]): ServiceAnswers[] {
  const taken = new Set<string>();
  let next = 2222;
  return names.map((name) => {
    const known = KNOWN[name];
    let listen = known?.listen;
    if (!listen || taken.has(listen)) {
      while (
        taken.has(`127.0.0.1:${next}`) ||
        Object.values(KNOWN).some((k) => k.listen === `127.0.0.1:${next}`)
      )
        next++;
      listen = `127.0.0.1:${next}`;
    }
    taken.add(listen);
    return {
      name,
      listen,
      target: known?.target ?? `${name}.example:22`,
      protocol: known?.protocol ?? 'tcp',
    };
  });
}

/** The `services:` config for these answers, every service with the same paths. */
export function servicesConfig(
  services: readonly ServiceAnswers[],
  paths: readonly Record<string, unknown>[],
) {
  return {
    failover: { interval: '2s', timeout: '1s', fall: 3, rise: 2, maxLatency: '500ms', autoRecover: true },
    drain: '30s',
    services: Object.fromEntries(
      services.map((service) => [
        service.name,
        // A copy each: a shared object would be written as a YAML alias.
        {
          listen: service.listen,
          target: service.target,
          protocol: service.protocol,
          paths: structuredClone(paths),
        },
      ]),
    ),
  };
}
