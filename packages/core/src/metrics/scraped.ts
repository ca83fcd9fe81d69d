import { Counter, Gauge, type Registry } from 'prom-client';

// Metrics whose value is read from a snapshot at scrape time; `read` returning undefined leaves the series empty.

/** A counter set to `read()` at every scrape (the snapshot already holds the running total). */
export function scrapedCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | undefined,
) {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      const value = read();
      if (value !== undefined) this.inc(value);
    },
  });
}

/** A gauge set to `read()` at every scrape. */
export function scrapedGauge(registry: Registry, name: string, help: string, read: () => number | undefined) {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      const value = read();
      if (value !== undefined) this.set(value);
    },
  });
}
