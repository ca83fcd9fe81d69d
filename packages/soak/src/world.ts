import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execaSync } from 'execa';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The soak package folder (dist/ or src/ sit one level down). */
export const SOAK_ROOT = path.resolve(here, '..');
/** The built CLI: the soak runs what users run. */
export const BIN = path.resolve(SOAK_ROOT, '../cli/dist/bin.js');
/** testkit's local stand-in provider, loaded through `plugins:` like a user's own module. */
export const LOCAL_PLUGIN = path.join(SOAK_ROOT, 'fixtures', 'local-provider.js');

/** What the built CLI can do, found out rather than assumed: other work may add services and reload later. */
export interface Capabilities {
  /** `services:` in the config (several services in one process). */
  services: boolean;
  /** `tunnelmux reload`. */
  reload: boolean;
}

export function capabilities(): Capabilities {
  if (!existsSync(BIN)) {
    throw new Error(`[tunnelmux] [soak] the CLI is not built: ${BIN} is missing; run pnpm build first`);
  }
  const help = execaSync(process.execPath, [BIN, '--help'], { reject: false, timeout: 30_000 }).stdout;
  const schemaFile = path.resolve(SOAK_ROOT, '../cli/schema/tunnelmux.schema.json');
  let services = false;
  try {
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as { properties?: Record<string, unknown> };
    services = Boolean(schema.properties && 'services' in schema.properties);
  } catch {}
  return { services, reload: /^\s+reload\b/m.test(help) };
}

/** Failover settings of every soak instance: quick probes, and slow is 2.5 s against a 1.5 s maxLatency. */
export const FAILOVER = {
  interval: '500ms',
  timeout: '1500ms',
  maxLatency: '1500ms',
  fall: 2,
  rise: 2,
  minDwell: '2s',
  firstByteTimeout: '1s',
  backoffInitial: '200ms',
  backoffMax: '5s',
  openTimeout: '10s',
  drainBeforeRestart: '2s',
};
export const SLOW_LATENCY_MS = 2500;

/** One YAML path line. */
export function pathLine(id: string, priority: number, faultFile: string): string {
  return `  - { id: ${id}, provider: local, priority: ${priority}, options: { faultFile: ${JSON.stringify(faultFile)}, readyTimeoutMs: 3000 } }`;
}

export function failoverLine(fall = FAILOVER.fall): string {
  return `failover: ${JSON.stringify({ ...FAILOVER, fall })}`;
}
