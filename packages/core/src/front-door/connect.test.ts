import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { connectWithFailover, OUT_OF_DESCRIPTORS } from './connect';
import type { Route, RouteSource } from './route-source';

function source(routes: Route[]) {
  const failed: string[] = [];
  const src: RouteSource = {
    routes: () => routes,
    dialFailed: (id) => failed.push(id),
    carried: () => ({ bytesIn() {}, bytesOut() {}, follow() {}, close() {} }),
    refused() {},
    describe: () => '',
    warn() {},
  };
  return { src, failed };
}

const emfile = () =>
  Object.assign(new Error('connect EMFILE 127.0.0.1:1 - Local (undefined:undefined)'), { code: 'EMFILE' });

describe('connectWithFailover', () => {
  it('out of file descriptors: stops at once and counts nothing against the path', async () => {
    let dials = 0;
    const routes: Route[] = ['a', 'b'].map((id) => ({
      id,
      dial: async () => {
        dials++;
        throw emfile();
      },
    }));
    const { src, failed } = source(routes);
    const result = await connectWithFailover(src, {
      protocol: 'tcp',
      dialTimeout: 1000,
      firstByteTimeout: 1000,
      signal: new AbortController().signal,
    });
    expect(result.connected).toBeUndefined();
    expect(result.reasons[0]).toMatch(new RegExp(`^${OUT_OF_DESCRIPTORS}`));
    expect(failed).toEqual([]);
    expect(dials).toBe(1);
  });

  it('a refused dial still counts against its path and moves on', async () => {
    const stream = new PassThrough();
    const routes: Route[] = [
      {
        id: 'a',
        dial: async () => {
          throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
        },
      },
      { id: 'b', dial: async () => stream },
    ];
    const { src, failed } = source(routes);
    const result = await connectWithFailover(src, {
      protocol: 'tcp',
      dialTimeout: 1000,
      firstByteTimeout: 1000,
      signal: new AbortController().signal,
    });
    expect(result.connected?.route.id).toBe('b');
    expect(failed).toEqual(['a']);
    stream.destroy();
  });
});
