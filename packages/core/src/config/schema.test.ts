import { describe, expect, it } from 'vitest';
import { configErrorFrom } from './format-issues';
import { failoverSchema, pathSchema } from './schema';

// What core says about one bad failover field.
function refusal(input: Record<string, unknown>): string {
  const result = failoverSchema.safeParse(input);
  if (result.success) throw new Error(`accepted ${JSON.stringify(input)}`);
  return configErrorFrom(result.error, input, 'failover.').message;
}

describe('failover schema', () => {
  it('bounds every duration, naming the maximum (a timer past 2^31-1 ms fires at once)', () => {
    expect(refusal({ interval: 999_999_999_999 })).toBe(
      '[tunnelmux] failover.interval: must be at most 1h, got 999999999999 (number)',
    );
    expect(refusal({ openTimeout: 1e30 })).toContain('failover.openTimeout: must be at most 1h');
    expect(refusal({ minDwell: '25d' })).toContain('failover.minDwell: must be at most 24h, got "25d"');
    expect(refusal({ timeout: '1h' })).toContain('failover.timeout: must be at most 10m');
    expect(refusal({ interval: 0 })).toContain('failover.interval: must be at least 10ms');
    expect(refusal({ interval: '-2s' })).toContain('must be a duration such as 500ms, 2s or 1m');
    // Every duration field is bounded, none beyond what a Node timer can wait.
    for (const [key, field] of Object.entries(failoverSchema.shape)) {
      if (!['jitter', 'fall', 'rise', 'autoRecover'].includes(key)) {
        expect(field.safeParse(2 ** 31).success, key).toBe(false);
      }
    }
  });

  it('accepts the longest value of each bound and the documented text forms', () => {
    const parsed = failoverSchema.parse({
      interval: '1h',
      minDwell: '24h',
      drainBeforeRestart: '5s',
      timeout: '10m',
      backoffMax: '1d',
    });
    expect(parsed).toMatchObject({
      interval: 3_600_000,
      minDwell: 86_400_000,
      drainBeforeRestart: 5000,
      timeout: 600_000,
      backoffMax: 86_400_000,
    });
  });

  it('keeps the message short for a huge unknown key or value (a 4 MB line)', () => {
    const huge = 'k'.repeat(4_000_000);
    expect(refusal({ [huge]: 1 }).length).toBeLessThan(1000);
    expect(refusal({ interval: huge }).length).toBeLessThan(1000);
    expect(refusal({ interval: huge })).toContain('… (3999800 more) (string)');
  });

  it('reports a huge count once, with one maximum', () => {
    const result = failoverSchema.safeParse({ fall: 1e308 });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message)).toEqual(['must be at most 100']);
  });
});

describe('path schema', () => {
  it('parses a target from text or a mapping, and refuses a bad one with the expected forms', () => {
    const base = { id: 'a', provider: 'ssh' };
    expect(pathSchema.parse({ ...base, target: '[::1]:22' }).target).toEqual({ host: '::1', port: 22 });
    expect(pathSchema.parse({ ...base, target: { host: 'h', port: 2 } }).target).toEqual({
      host: 'h',
      port: 2,
    });
    for (const target of ['h:0', 'h:65536', 'h', 22, { host: '', port: 22 }]) {
      const result = pathSchema.safeParse({ ...base, target });
      expect(result.error?.issues[0]?.message, JSON.stringify(target)).toBe(
        'must be host:port such as 127.0.0.1:22 or [::1]:22, or { host, port }',
      );
    }
  });
});
