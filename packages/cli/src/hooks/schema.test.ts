import { describe, expect, it } from 'vitest';
import { onSchema } from './schema';

describe('the on: schema', () => {
  it('takes command and webhook hooks under event types and *, with durations parsed', () => {
    const parsed = onSchema.parse({
      failover: [{ command: ['notify-send', 'x'], timeout: '5s', rateLimit: '1m' }],
      '*': [{ webhook: 'https://h.example/x', headers: { Authorization: 'Bearer y' }, retries: 0 }],
    });
    expect(parsed.failover?.[0]).toEqual({ command: ['notify-send', 'x'], timeout: 5000, rateLimit: 60_000 });
    expect(parsed['*']?.[0]).toMatchObject({ retries: 0 });
  });

  it.each([
    ['an unknown event type', { failovr: [{ command: ['x'] }] }],
    ['an empty list', { failover: [] }],
    ['an empty argv', { failover: [{ command: [] }] }],
    ['a shell string instead of argv', { failover: [{ command: 'notify-send x' }] }],
    ['both a command and a webhook', { failover: [{ command: ['x'], webhook: 'https://h.example/' }] }],
    ['a non-http webhook', { failover: [{ webhook: 'file:///etc/passwd' }] }],
    [
      'a header name with a space',
      { failover: [{ webhook: 'https://h.example/', headers: { 'X Bad': 'v' } }] },
    ],
    [
      'a header value with a newline',
      { failover: [{ webhook: 'https://h.example/', headers: { X: 'a\r\nB: c' } }] },
    ],
    ['more than 10 retries', { failover: [{ webhook: 'https://h.example/', retries: 11 }] }],
    ['a timeout under 100ms', { failover: [{ command: ['x'], timeout: '10ms' }] }],
    ['a timeout over 5m', { failover: [{ command: ['x'], timeout: '1h' }] }],
  ])('refuses %s', (_, value) => {
    expect(onSchema.safeParse(value).success).toBe(false);
  });
});
