import { EVENT_TYPES, type EventType } from '@tunnelmux/core/events';
import { z } from 'zod';
import { SERVICE_NAME } from '../config/services-schema';
import { CONTROL_METHODS, type ControlMethod } from './protocol';
import { shown } from './shown';

// Path ids are short words (the config schema's rule); anything longer is not worth echoing back.
const pathId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/);
const none = z.strictObject({});
// Which service a path command acts on; needed only when the instance runs several.
const service = z.string().regex(SERVICE_NAME).optional();

/** The params each method takes; unknown fields are refused so a typo is not silently ignored. */
export const PARAMS = {
  status: none,
  list: none,
  metrics: none,
  prometheus: none,
  info: none,
  dashboard: none,
  events: z.strictObject({
    types: z.array(z.enum(EVENT_TYPES as [EventType, ...EventType[]])).optional(),
    limit: z.number().int().min(0).max(100_000).optional(),
    follow: z.boolean().optional(),
    all: z.boolean().optional(),
  }),
  primary: z.strictObject({ id: pathId.nullable().optional(), service }),
  failover: z.strictObject({ enabled: z.boolean(), service }),
  restart: z.strictObject({ id: pathId, service }),
  stop: z.strictObject({ id: pathId, service }),
  reload: none,
} satisfies Record<ControlMethod, z.ZodType>;

export type ControlParams<M extends ControlMethod> = z.input<(typeof PARAMS)[M]>;

/** One request line, checked: `{ id, method, params? }`. */
export type ControlRequest = {
  [M in ControlMethod]: { id: number; method: M; params: z.output<(typeof PARAMS)[M]> };
}[ControlMethod];

const envelope = z.strictObject({
  id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  method: z.enum(CONTROL_METHODS),
  params: z.record(z.string(), z.unknown()).optional(),
});

// What each field must be, in words a user can act on.
const EXPECTED: Record<string, string> = {
  id: 'a whole number of 0 or more',
  method: `one of ${CONTROL_METHODS.join(', ')}`,
  params: 'an object',
  'params.id': 'a path id (letters, digits, ".", "_" or "-")',
  'params.limit': 'a whole number from 0 to 100000',
  'params.types': `a list of event types (${EVENT_TYPES.join(', ')})`,
  'params.service': 'a service name (letters, digits, ".", "_" or "-")',
  'params.enabled': 'true or false',
  'params.follow': 'true or false',
  'params.all': 'true or false',
};

const EXAMPLE = 'send one JSON object per line, such as {"id":1,"method":"status"}';

/** A request, or why it is not one (with the id to answer, when it had a usable one). */
export type Parsed =
  | { ok: true; request: ControlRequest }
  | { ok: false; id: number | null; message: string };

/** Parse and validate one line of the control protocol; never throws. */
export function parseRequest(line: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return refuse(null, `the line is not JSON, got ${shown(line)}; ${EXAMPLE}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return refuse(null, `a request must be a JSON object, got ${shown(value)}; ${EXAMPLE}`);
  }
  const raw = value as Record<string, unknown>;
  const id = typeof raw.id === 'number' && Number.isSafeInteger(raw.id) && raw.id >= 0 ? raw.id : null;
  const head = envelope.safeParse(value);
  if (!head.success) return refuse(id, explain(head.error, raw, []));
  const { method } = head.data;
  const params = PARAMS[method].safeParse(head.data.params ?? {});
  if (!params.success) return refuse(id, explain(params.error, head.data.params ?? {}, ['params']));
  return { ok: true, request: { id: head.data.id, method, params: params.data } as ControlRequest };
}

function refuse(id: number | null, message: string): Parsed {
  return { ok: false, id, message: `[tunnelmux] bad control request: ${message}` };
}

// The first problem, naming the field, what it must be and what it was.
function explain(error: z.ZodError, input: unknown, prefix: string[]): string {
  const issue = error.issues[0];
  if (!issue) return 'it was refused';
  if (issue.code === 'unrecognized_keys') {
    const field = [...prefix, ...issue.path.map(String), issue.keys[0] ?? ''].join('.');
    return `"${field}" is not a known field`;
  }
  const field = [...prefix, ...issue.path.map(String)].join('.');
  const key = [...prefix, ...issue.path.filter((p) => typeof p === 'string')].join('.');
  const got = issue.path.reduce<unknown>(
    (at, step) => (at && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[step] : undefined),
    input,
  );
  const expected = EXPECTED[key] ?? issue.message;
  return `"${field}" must be ${expected}, got ${got === undefined ? 'nothing' : shown(got)}`;
}
