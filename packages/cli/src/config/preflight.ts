import { formatAddress, isLoopback, parseAddress } from '../util/address';
import type { LoadedConfig } from './load';

/** Something `up` would trip on that no schema can see, with where it was written and how to fix it. */
export interface Finding {
  /** The kind of check. */
  check: 'placeholder' | 'environment' | 'listen' | 'failover' | 'resume';
  /** `file:line:col: field …`. */
  detail: string;
  fix: string;
  /** A risk, not a failure: `up` still comes up. */
  warning?: boolean;
}

// Names reserved for documentation (RFC 2606 / 6761): they never resolve, so a config holding one is unfinished.
const RESERVED = /(?:^|\.)(?:example(?:\.(?:com|net|org))?|invalid)\.?$/i;

/** The reserved host in `text`, if any: a bare host, `host:port`, `user@host` or a URL. */
export function placeholderHost(text: string): string | undefined {
  return text.match(/[A-Za-z0-9][A-Za-z0-9.-]*/g)?.find((token) => RESERVED.test(token));
}

/** Option keys ending in `Env` name an environment variable the provider reads when the path opens. */
const ENV_OPTION = /^[A-Za-z][A-Za-z0-9]*Env$/;

/**
 * What doctor checks beyond the schemas: hosts still holding a placeholder (`init` writes example.com names),
 * environment variables named by `...Env` options that are unset here, and a front door open to every interface.
 */
export function preflight(loaded: LoadedConfig, env: NodeJS.ProcessEnv = process.env): Finding[] {
  const { config } = loaded;
  const findings: Finding[] = [];
  const placeholder = (fieldPath: PropertyKey[], value: string) => {
    const host = placeholderHost(value);
    if (!host) return;
    findings.push({
      check: 'placeholder',
      detail: `${loaded.locate(fieldPath)}: ${fieldPath.map(String).join('.')} is still the placeholder "${host}" (example names never resolve)`,
      fix: 'replace it with your real host',
    });
  };
  const walk = (fieldPath: PropertyKey[], value: unknown) => {
    if (typeof value === 'string') placeholder(fieldPath, value);
    else if (value && typeof value === 'object') {
      // Arrays too: their entries are keyed by index.
      for (const [key, item] of Object.entries(value))
        walk([...fieldPath, Array.isArray(value) ? Number(key) : key], item);
    }
  };
  // Per service: the single-service form is one service whose fields sit at the top level.
  for (const service of config.services) {
    if (service.target) placeholder([...service.field, 'target'], service.target.host);
    service.paths.forEach((path, index) => {
      const optionsField = service.optionsFields[index] ?? [];
      const pathField = service.pathFields[index] ?? [];
      // An expose path is written as a provider name in `via`; its target is the exposed port.
      if (path.target && pathField[pathField.length - 2] !== 'via')
        placeholder([...pathField, 'target'], path.target.host);
      walk(optionsField, path.options);
      for (const [key, name] of Object.entries(path.options ?? {})) {
        if (!ENV_OPTION.test(key) || typeof name !== 'string' || name.length === 0) continue;
        if (env[name]?.trim()) continue;
        const fieldPath = [...optionsField, key];
        findings.push({
          check: 'environment',
          detail: `${loaded.locate(fieldPath)}: path "${path.id}" reads ${name} (option "${key}"), which is not set in this environment`,
          fix: `set ${name} where tunnelmux up runs (e.g. export ${name}=…), or point "${key}" at a variable that is set`,
        });
      }
    });
  }
  findings.push(...failoverWarnings(loaded));
  for (const service of config.services) {
    if (service.listen === undefined) continue;
    const field = [...service.field, 'listen'];
    const at = parseAddress(service.listen, field.join('.'));
    if (!isLoopback(at.host)) {
      findings.push({
        check: 'listen',
        warning: true,
        detail: `${loaded.locate(field)}: the front door ${service.field.length > 0 ? `of service ${service.name} ` : ''}listens on ${formatAddress(at)}, ${at.host === '0.0.0.0' || at.host === '::' ? 'every interface' : 'an address beyond this machine'}: anyone who reaches it gets through the tunnels`,
        fix: 'listen on 127.0.0.1 unless other machines must connect (then firewall the port)',
      });
    }
  }
  return findings;
}

/** Failover settings each valid alone but that defeat each other: warnings, with the setting to change. */
function failoverWarnings(loaded: LoadedConfig): Finding[] {
  const failover = loaded.config.failover;
  if (!failover) return [];
  const rules: [boolean, PropertyKey, string, string][] = [
    [
      failover.maxLatency > failover.timeout,
      'maxLatency',
      `failover.maxLatency (${failover.maxLatency} ms) is above failover.timeout (${failover.timeout} ms), so a slow probe times out before it can count as slow`,
      'set maxLatency below timeout',
    ],
    [
      failover.backoffInitial > failover.backoffMax,
      'backoffInitial',
      `failover.backoffInitial (${failover.backoffInitial} ms) is above failover.backoffMax (${failover.backoffMax} ms), so every restart waits backoffMax`,
      'set backoffInitial below backoffMax',
    ],
    [
      failover.fastInterval !== undefined && failover.fastInterval > failover.interval,
      'fastInterval',
      `failover.fastInterval (${failover.fastInterval} ms) is above failover.interval (${failover.interval} ms), so a changing path is probed more slowly than a steady one`,
      'set fastInterval below interval, or leave it out (interval / 4)',
    ],
  ];
  return rules
    .filter(([broken]) => broken)
    .map(([, key, detail, fix]) => ({
      check: 'failover' as const,
      warning: true,
      detail: `${loaded.locate(['failover', key])}: ${detail}`,
      fix,
    }));
}
