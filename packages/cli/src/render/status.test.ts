import type { ManagerStatus, PathStatus } from '@tunnelmux/core';
import { expect, it } from 'vitest';
import { statusTable } from './status';

it("shows a path's last error with control characters escaped, so a tool's output cannot drive the terminal", () => {
  const path = {
    id: 'cf',
    provider: 'cloudflare',
    state: 'reconnecting',
    priority: 1,
    primary: false,
    bytesIn: 0,
    bytesOut: 0,
    lastError: 'exited\u001b[2J\u001b[Hgotcha',
  } as PathStatus;
  const status: ManagerStatus = { autoFailover: true, degraded: true, paths: [path] };
  const table = statusTable(status);
  expect(table).not.toContain('\u001b');
  expect(table).toContain('exited\\x1b[2J\\x1b[Hgotcha');
});
