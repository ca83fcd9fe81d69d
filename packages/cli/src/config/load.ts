import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describeValue } from '@tunnelmux/core/config';
import {
  type Alias,
  type Document,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
} from 'yaml';
import type { z } from 'zod';
import { redactHookField } from '../hooks/redact';
import { ON_KEYS } from '../hooks/schema';

export { CONFIG_NAMES, findConfig, findConfigQuietly } from './find';

import { type Config, configSchema, type ServiceConfig, TARGET_EXPECTED } from './schema';
import { toServices } from './services';
import { SERVICE_NAME_EXPECTED } from './services-schema';

export { exposePaths } from './services';

/** A loaded, valid config and where it came from. */
export interface LoadedConfig {
  file: string;
  dir: string;
  config: Config;
  /** Maps a field path to `file:line:col`, for messages about fields found valid here but refused later. */
  locate(fieldPath: readonly PropertyKey[]): string;
  /** The same as `{ file, line, col }`. */
  position(fieldPath: readonly PropertyKey[]): { file: string; line: number; col: number };
  /** Where a path of `config.paths` has its options: under its service's `paths`, or under `expose.options`. */
  optionsField(index: number): PropertyKey[];
}

/** The services of a loaded config, the one shape everything that runs reads. */
export function servicesOf(loaded: LoadedConfig): ServiceConfig[] {
  return loaded.config.services;
}

/** One problem with a config file, pointing at the line. */
export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  field: string;
  value: unknown;
  message: string;
}

/** Thrown for a config that cannot be used; exit code 2. */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
  readonly exitCode = 2;
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

/** `tunnelmux.yaml:7:13: failover.interval must be ..., got "2 seconds" (string)`. */
export function formatProblem(problem: ConfigProblem): string {
  const where = `${problem.file}:${problem.line}:${problem.col}`;
  const field = problem.field ? `${problem.field} ` : '';
  return `${where}: ${field}${problem.message}`;
}

/** Read, parse and validate a config file; every problem names the file, line, field, value and expectation. */
export function loadConfig(file: string): LoadedConfig {
  return loadConfigText(readFileSync(file, 'utf8'), file);
}

/** The same as `loadConfig` for text already read from `file` (`file` names it in messages). */
export function loadConfigText(text: string, file: string): LoadedConfig {
  const shown = path.relative(process.cwd(), file) || file;
  const lineCounter = new LineCounter();
  // YAML 1.2 is a superset of JSON, so one parser gives line numbers for both.
  // logLevel: a mapping used as a key must not print a Node warning; the schema refuses the key anyway.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const position = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, col: pos.col };
  };
  if (doc.errors.length > 0) {
    throw new ConfigFileError(
      doc.errors.map((error) => ({
        file: shown,
        ...position(error.pos[0]),
        field: '',
        value: undefined,
        message: `is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${clip(error.message.split('\n')[0] ?? '', 300)}`,
      })),
    );
  }
  let data: unknown;
  try {
    // Throws for an alias without its anchor (`*a`) and for an alias bomb (more than 100 alias expansions).
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const alias = firstAlias(doc);
    throw new ConfigFileError([
      {
        file: shown,
        ...position(alias?.range?.[0] ?? 0),
        field: '',
        value: alias ? `*${alias.source}` : undefined,
        message: `is not valid YAML: ${clip((error as Error).message, 300)}`,
      },
    ]);
  }
  const at = (fieldPath: readonly PropertyKey[], key = false) => {
    const found = nodeAt(doc.contents, fieldPath, key);
    return position(found?.range?.[0] ?? 0);
  };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigFileError([
      {
        file: shown,
        line: 1,
        col: 1,
        field: '',
        value: data,
        message: `must be a mapping with listen, target and paths, got ${describe(data)}`,
      },
    ]);
  }
  const parsed = configSchema.safeParse(data);
  const problems: ConfigProblem[] = [];
  let config: Config | undefined;
  if (!parsed.success) {
    for (const issue of onePerField(parsed.error.issues.flatMap(unwrapUnion)))
      problems.push(...toProblems(issue, data, shown, at));
  } else {
    const { services, problems: found } = toServices(parsed.data, data as Record<string, unknown>, shown, at);
    const { services: _written, ...rest } = parsed.data;
    config = { ...rest, paths: services.flatMap((service) => service.paths), services };
    problems.push(...found);
  }
  if (problems.length > 0 || !config) throw new ConfigFileError(problems);
  const optionsFields = config.services.flatMap((service) => service.optionsFields);
  const optionsField = (index: number): PropertyKey[] => optionsFields[index] ?? ['paths', index, 'options'];
  return {
    optionsField,
    file,
    dir: path.dirname(file),
    config,
    locate: (fieldPath) => {
      const pos = at(fieldPath);
      return `${shown}:${pos.line}:${pos.col}`;
    },
    position: (fieldPath) => ({ file: shown, ...at(fieldPath) }),
  };
}

function toProblems(
  issue: z.core.$ZodIssue,
  data: unknown,
  file: string,
  at: (p: readonly PropertyKey[], key?: boolean) => { line: number; col: number },
): ConfigProblem[] {
  const issuePath = issue.path as PropertyKey[];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const keyPath = [...issuePath, key];
      const parent = valueAt(data, issuePath);
      const allowed = allowedKeys(issuePath);
      return {
        file,
        ...at(keyPath, true),
        field: fieldName(keyPath),
        value: redactHookField(keyPath, (parent as Record<string, unknown>)?.[key]),
        message: `is not a known field${allowed ? `; expected one of ${allowed}` : ''}`,
      };
    });
  }
  if (issue.code === 'invalid_key') {
    // A bad map key (a service name): point at the key and quote it, not the mapping under it.
    const key = issuePath[issuePath.length - 1];
    return [
      {
        file,
        ...at(issuePath, true),
        field: fieldName(issuePath),
        value: key,
        message: `${expectation(issue, issuePath, key)}, got ${describe(key)}`,
      },
    ];
  }
  // A webhook URL or header quoted in an error must not show its secret.
  const value = redactHookField(issuePath, valueAt(data, issuePath));
  return [
    {
      file,
      ...at(issuePath),
      field: fieldName(issuePath) || '(root)',
      value,
      message: `${expectation(issue, issuePath, value)}, got ${describe(value)}`,
    },
  ];
}

// What a field should have been, in words a user reads once and fixes.
function expectation(issue: z.core.$ZodIssue, issuePath: PropertyKey[], value: unknown): string {
  const last = issuePath[issuePath.length - 1];
  if (value === undefined && issue.code === 'invalid_type') return 'is required';
  if (last === 'target') return `must be ${TARGET_EXPECTED}`;
  // Core's schemas word their own expectations ("must be at most 1h"); zod's defaults are reworded below.
  if (issue.message.startsWith('must ')) return issue.message;
  if (last === 'listen') return 'must be host:port such as 127.0.0.1:2222, or a port number';
  if (issue.code === 'invalid_key' && issuePath[0] === 'services') return `must be ${SERVICE_NAME_EXPECTED}`;
  if (last === 'id' && (issuePath[0] === 'paths' || issuePath[2] === 'paths')) {
    return 'must be letters, digits, dot, dash or underscore (max 63, starting with a letter or digit)';
  }
  if (last === 'provider') return 'must be a provider id such as tailscale, cloudflare, ngrok or ssh';
  if (last === 'paths' && issue.code === 'too_small') return 'must list at least one path';
  if (issue.code === 'invalid_value')
    return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_type') return `must be ${article(issue.expected)}`;
  if (issue.code === 'too_small') return `must be at least ${String(issue.minimum)}`;
  if (issue.code === 'too_big') return `must be at most ${String(issue.maximum)}`;
  return issue.message.replace(/^Invalid input: /, 'must be ').replace(/^Invalid /, 'must be a valid ');
}

/**
 * A value that fits neither form of a union (`expose:` as one port or a list) is reported by the form its shape
 * matches, so the message names the bad field inside it rather than "must be a valid input".
 */
function unwrapUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  const shaped = issue.errors.filter(
    (branch) => !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
  );
  // Of the forms the value's shape fits, the one it misses by the fewest problems (a tie says nothing).
  const fewest = Math.min(...shaped.map((branch) => branch.length));
  const closest = shaped.filter((branch) => branch.length === fewest);
  if (closest.length !== 1) return [issue];
  return closest[0]!.flatMap((inner) =>
    unwrapUnion({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue),
  );
}

/** One issue per field (the first), so a value breaking two rules is reported once. */
function onePerField(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    if (issue.code === 'unrecognized_keys') return true;
    const key = JSON.stringify(issue.path.map(String));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function allowedKeys(parentPath: PropertyKey[]): string | undefined {
  const shape = (schema: unknown) =>
    Object.keys((schema as { shape: Record<string, unknown> }).shape).join(', ');
  if (parentPath.length === 0) return shape(configSchema).replace('$schema, ', '');
  if (parentPath.length === 1 && parentPath[0] === 'failover')
    return shape(configSchema.shape.failover.unwrap());
  if (parentPath.length === 2 && parentPath[0] === 'paths')
    return shape(configSchema.shape.paths.unwrap().element);
  const service = configSchema.shape.services.unwrap().valueType;
  if (parentPath.length === 2 && parentPath[0] === 'services') return shape(service);
  if (parentPath.length === 3 && parentPath[0] === 'services' && parentPath[2] === 'failover')
    return shape(configSchema.shape.failover.unwrap());
  if (parentPath.length === 4 && parentPath[0] === 'services' && parentPath[2] === 'paths')
    return shape(configSchema.shape.paths.unwrap().element);
  if (parentPath.length === 1 && parentPath[0] === 'on') return ON_KEYS.join(', ');
  return undefined;
}

function article(type: string): string {
  if (type === 'array') return 'a list';
  if (type === 'object') return 'a mapping';
  if (type === 'int') return 'a whole number';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function fieldName(fieldPath: readonly PropertyKey[]): string {
  // A key that is empty or holds a dot or blank is quoted, so `"": 1` names a field the user can find.
  const segment = (key: PropertyKey) =>
    /^[^\s."]+$/.test(String(key)) ? String(key) : JSON.stringify(String(key));
  return clip(fieldPath.map(segment).join('.'), 120);
}

/** Cut echoed text (a field name, a parser's message) to `limit` characters, saying how many were left out. */
function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length - limit} more)`;
}

function valueAt(data: unknown, fieldPath: readonly PropertyKey[]): unknown {
  return fieldPath.reduce<unknown>(
    (node, key) =>
      node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined,
    data,
  );
}

/** The deepest YAML node on `fieldPath`; for a map key, the key itself (so the line is the key's). */
function nodeAt(root: unknown, fieldPath: readonly PropertyKey[], wantKey = false): Node | undefined {
  let node: unknown = root;
  let best: Node | undefined = isNode(root) ? root : undefined;
  for (const [index, key] of fieldPath.entries()) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(key),
      );
      if (!pair) return best;
      // The value's position, unless it is absent or empty; then the key's.
      const valueNode = isNode(pair.value) ? pair.value : undefined;
      if (wantKey && index === fieldPath.length - 1 && isNode(pair.key)) return pair.key;
      best = (valueNode?.range ? valueNode : undefined) ?? (isNode(pair.key) ? pair.key : best);
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(key)];
      if (!isNode(item)) return best;
      best = item;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

/** The first alias in the document, to point a YAML alias error at. */
function firstAlias(doc: Document): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_key, node) {
      found = node;
      return visit.BREAK;
    },
  });
  return found;
}

/** A value as messages quote it: clipped, with its type. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value && typeof value === 'object') {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}... (mapping)` : `${text} (mapping)`;
  }
  // Core's wording, clipped: a 4 MB value must not make a 4 MB message.
  return describeValue(value);
}
