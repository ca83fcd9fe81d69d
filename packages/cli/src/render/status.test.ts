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

it('lists live sessions under the paths when resume is on, and nothing about sessions when it is off', () => {
  const status: ManagerStatus = {
    autoFailover: true,
    degraded: false,
    paths: [],
    sessions: [
      {
        session: '9f2c41d0',
        client: '127.0.0.1:50123',
        path: 'b',
        attached: true,
        openedAt: 0,
        resumes: 2,
        bytesIn: 2048,
        bytesOut: 10,
      },
      {
        session: '0a1b2c3d',
        client: '127.0.0.1:50124',
        path: 'a',
        attached: false,
        openedAt: 0,
        resumes: 0,
        bytesIn: 0,
        bytesOut: 0,
      },
    ],
  };
  const table = statusTable(status);
  expect(table).toMatch(/sessions 2 live:\n {2}9f2c41d0 127\.0\.0\.1:50123 via b .* 2 resume\(s\)/);
  expect(table).toMatch(/0a1b2c3d 127\.0\.0\.1:50124 via \(resuming\)/);
  expect(statusTable({ ...status, sessions: undefined })).not.toContain('session');
});
