import { z } from 'zod';

/** `dashboard:` in tunnelmux.yaml: serve the web page and HTTP API (needs @tunnelmux/dashboard installed). */
export const dashboardConfig = z
  .object({
    listen: z
      .union([z.string().regex(/^(?:\[[^\]]+\]|[^:[\]\s]+):\d{1,5}$/), z.number().int().min(0).max(65535)])
      .optional()
      .meta({
        description:
          'Where to serve it: 127.0.0.1:8080, or a port number (default 127.0.0.1:0, any free port).',
      }),
    allowAllInterfaces: z.boolean().optional().meta({
      description: 'Allow a non-loopback listen address; the token, Host and Origin checks still apply.',
    }),
    allowedHosts: z
      .array(z.string().regex(/^[A-Za-z0-9.:[\]-]{1,255}$/))
      .optional()
      .meta({
        description: 'More Host names to answer to (e.g. behind a reverse proxy): name or name:port.',
      }),
  })
  .strict()
  .meta({ description: 'A local web page and HTTP API for this instance (`tunnelmux up --dashboard`).' });

export type DashboardConfig = z.output<typeof dashboardConfig>;
