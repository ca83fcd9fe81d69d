import { boundedDuration } from '@tunnelmux/core/config';
import { EVENT_TYPES } from '@tunnelmux/core/events';
import { z } from 'zod';
import { redactUrl } from './redact';

// Bounds that keep a hook from holding the engine's attention for long, whatever the config says.
const timeout = boundedDuration({ min: 100, max: 5 * 60_000 });
const rateLimit = boundedDuration({ min: 0, max: 24 * 3_600_000 });

const common = {
  timeout: timeout.optional().meta({
    description: 'Kill the command (its whole process group) or abort the request after this (10s).',
  }),
  rateLimit: rateLimit.optional().meta({
    description:
      'At most one call per this much time (30s); events in between are coalesced into one later call with a count.',
  }),
};

/** A command hook: argv, run without a shell; the event arrives as JSON on stdin. */
export const commandHook = z
  .object({
    command: z
      .array(z.string().min(1))
      .min(1)
      .meta({ description: 'The program and its arguments (no shell), relative to the config folder.' }),
    ...common,
  })
  .strict();

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name such as Authorization');

/** A webhook hook: the event is POSTed as JSON. */
export const webhookHook = z
  .object({
    webhook: z
      .string()
      .refine(isHttpUrl, {
        // The value never appears here: it may carry a token (the loader quotes it masked).
        message: 'must be an http:// or https:// URL such as https://hooks.example.com/tunnelmux',
      })
      .meta({
        // What the refine checks, as far as a pattern can say it, so editors and the JSON Schema agree with it.
        pattern:
          '^[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?([/?#][!-~]*)?$',
        description: 'Where to POST the event; userinfo and query values are redacted wherever shown.',
      }),
    headers: z
      .record(
        headerName,
        z
          .string()
          .max(8192)
          .regex(/^[^\r\n\0]*$/, 'must be one line (no CR, LF or NUL)'),
      )
      .optional()
      .meta({ description: 'Extra request headers, e.g. Authorization; their values are never shown.' }),
    retries: z
      .number()
      .int()
      .min(0)
      .max(10)
      .optional()
      .meta({ description: 'Retries after a network error, a timeout, 408, 429 or 5xx, with backoff (3).' }),
    ...common,
  })
  .strict();

export const hook = z.union([commandHook, webhookHook], {
  error: 'must be { command: [program, ...args] } or { webhook: https://... }',
});

// `*` is every event except the high-volume ones (probe, metrics, log), which must be named to be hooked.
export const ON_KEYS = ['*', ...EVENT_TYPES] as [string, ...string[]];
const eventKey = z.enum(ON_KEYS, { error: `must be an event type (${EVENT_TYPES.join(', ')}) or *` });

/** The `on:` block: event type (or `*`) to the hooks it runs. */
export const onSchema = z.partialRecord(eventKey, z.array(hook).min(1).max(20)).meta({
  description:
    'Run commands or call webhooks on events: `failover: [{ command: [notify-send, tunnelmux] }]`; `*` is every event but probe, metrics and log.',
});

export type OnConfig = z.output<typeof onSchema>;
export type HookConfig = z.output<typeof hook>;
export type CommandHookConfig = z.output<typeof commandHook>;
export type WebhookHookConfig = z.output<typeof webhookHook>;

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** How a hook is named wherever it is shown: `command notify.sh` or `webhook https://host/***`. */
export function describeHook(hook: HookConfig): string {
  return 'command' in hook ? `command ${hook.command[0]}` : `webhook ${redactUrl(hook.webhook)}`;
}
