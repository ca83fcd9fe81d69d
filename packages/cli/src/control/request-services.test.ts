import { describe, expect, it } from 'vitest';
import { parseRequest } from './request';

describe('control requests naming a service, and reload', () => {
  it('takes a service name on the path commands', () => {
    expect(parseRequest('{"id":1,"method":"restart","params":{"id":"a","service":"db"}}')).toEqual({
      ok: true,
      request: { id: 1, method: 'restart', params: { id: 'a', service: 'db' } },
    });
    expect(parseRequest('{"id":2,"method":"reload"}')).toMatchObject({
      ok: true,
      request: { method: 'reload' },
    });
  });

  it('refuses a service name that is not one (a path, quotes that would break a Prometheus label, a huge one)', () => {
    for (const service of ['../../etc/passwd', 'a"b', 'x'.repeat(100), '', 7]) {
      const parsed = parseRequest(JSON.stringify({ id: 3, method: 'primary', params: { id: 'a', service } }));
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        expect(parsed.message).toMatch(/"params\.service" must be a service name/);
        expect(parsed.message.length).toBeLessThan(400);
      }
    }
  });

  it('refuses params on reload, so a typo is not silently ignored', () => {
    const parsed = parseRequest('{"id":4,"method":"reload","params":{"file":"/etc/shadow"}}');
    expect(parsed).toMatchObject({ ok: false, id: 4 });
    if (!parsed.ok) expect(parsed.message).toContain('"params.file" is not a known field');
  });
});
