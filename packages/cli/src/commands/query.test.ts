import { describe, expect, it } from 'vitest';
import { events } from './query';

describe('events --limit', () => {
  for (const value of ['-1', '1.5', 'ten', '', '1e3', '0x10', ' 5', '100001']) {
    it(`refuses ${JSON.stringify(value)} saying what it must be and echoing it`, async () => {
      const refused = events({ limit: value, socket: '/nonexistent/never-dialled.sock' });
      await expect(refused).rejects.toMatchObject({
        exitCode: 2,
        message: `[tunnelmux] --limit must be 0 or a positive whole number up to 100000 (how many past events to show), got ${JSON.stringify(value)}`,
      });
    });
  }
});
