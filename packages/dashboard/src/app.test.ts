import { describe, expect, it } from 'vitest';
import { servicesOf } from './app';

describe('servicesOf', () => {
  it('keeps the services of a multi-service status as they are', () => {
    const services = [
      { name: 'ssh', paths: [] },
      { name: 'db', paths: [] },
    ];
    expect(servicesOf({ primary: 'a', services })).toBe(services);
  });

  it('names a one-service answer after the service it came from, not "default"', () => {
    const answer = { primary: 'b', paths: [{ id: 'b', state: 'connected', priority: 1, primary: true }] };
    expect(servicesOf(answer, 'db')).toEqual([{ primary: 'b', name: 'db', paths: answer.paths }]);
    expect(servicesOf(answer)[0]?.name).toBe('default');
  });
});
