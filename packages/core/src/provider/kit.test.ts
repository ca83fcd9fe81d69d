import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, ProviderError } from '../errors';
import { createTestContext } from '../testing/test-context';
import { defineProvider, validateOptions } from './define-provider';

const target = { host: '127.0.0.1', port: 9 };

const accessOnly = defineProvider({
  apiVersion: 1,
  name: 'one-way',
  summary: 'access only',
  binary: {
    command: 'one-way-tool-that-is-not-installed',
    versionArgs: ['-v'],
    install: 'https://example.com/get',
  },
  access: {
    options: z.object({ host: z.string(), bin: z.string().optional() }).strict(),
    async open(options, ctx) {
      if (options.host === 'bad') throw new ProviderError('the far side said no');
      await ctx.findBinary(options.bin);
      return {
        endpoint: 'x',
        done: new Promise(() => {}),
        dial: async () => new PassThrough(),
        close: async () => {},
      };
    },
  },
});

const twoWay = defineProvider({
  apiVersion: 1,
  name: 'two-way',
  summary: 'both',
  access: {
    options: z.object({ host: z.string() }).strict(),
    open: async () => Promise.reject(new Error('x')),
  },
  expose: {
    options: z.object({ token: z.string() }).strict(),
    open: async () => Promise.reject(new Error('x')),
  },
});

describe('the mode-shaped contract', () => {
  it('lists the declared modes and refuses a definition without any', () => {
    expect(accessOnly.modes).toEqual(['access']);
    expect(twoWay.modes).toEqual(['access', 'expose']);
    expect(() => defineProvider({ apiVersion: 1, name: 'none', summary: 's' })).toThrow(ConfigError);
  });

  it('refuses a mode the provider lacks, in validation and in open, naming the modes it has', async () => {
    const error = await validateOptions(accessOnly, { host: 'h' }, { mode: 'expose', pathId: 'p' }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(
      '[tunnelmux] [one-way] path "p": mode must be a mode provider "one-way" has: access',
    );
    const test = createTestContext({ target, mode: 'expose' });
    await expect(accessOnly.open({ host: 'h' }, test.ctx)).rejects.toThrow(/does not publish a local port/);
  });

  it("validates against the path's mode and says when the options fit the other one", async () => {
    await expect(validateOptions(twoWay, { token: 't' }, { mode: 'expose' })).resolves.toEqual({
      token: 't',
    });
    const error = (await validateOptions(twoWay, { token: 't' }, { mode: 'access' }).catch(
      (e) => e,
    )) as Error;
    expect(error.message).toContain('set `mode: expose` on the path');
  });
});

describe('the provider kit', () => {
  it('stamps errors from open with the provider and the path', async () => {
    const test = createTestContext({ target, pathId: 'p1' });
    const error = (await accessOnly.open({ host: 'bad' }, test.ctx).catch((e) => e)) as ProviderError;
    expect(error.message).toBe('[tunnelmux] [one-way] the far side said no');
    expect(error.provider).toBe('one-way');
    expect(error.pathId).toBe('p1');
  });

  it('has one "not installed" error that says where it looked and how to install', async () => {
    const test = createTestContext({ target });
    const onPath = (await accessOnly.open({ host: 'h' }, test.ctx).catch((e) => e)) as ProviderError;
    expect(onPath.fatal).toBe(true);
    expect(onPath.message).toContain(
      'one-way-tool-that-is-not-installed was not found on PATH: install it from https://example.com/get',
    );
    const atBin = (await accessOnly
      .open({ host: 'h', bin: '/nowhere/tool' }, test.ctx)
      .catch((e) => e)) as Error;
    expect(atBin.message).toContain('was not found at "/nowhere/tool" (option "bin")');
  });

  it('forwards tool lines to the log and removes the temp folder on close', async () => {
    const { existsSync } = await import('node:fs');
    let dir = '';
    const lines = defineProvider({
      apiVersion: 1,
      name: 'lines',
      summary: 's',
      access: {
        options: z.object({}).strict(),
        async open(_options, ctx) {
          dir = await ctx.tempDir();
          const child = ctx.spawn(process.execPath, ['-e', 'console.log("hello"); console.error("careful")']);
          ctx.forwardLines(child);
          await child.exited;
          return {
            endpoint: 'x',
            done: child.done,
            dial: async () => new PassThrough(),
            close: async () => {},
          };
        },
      },
    });
    const test = createTestContext({ target });
    const tunnel = await lines.open({}, test.ctx);
    // Two pipes: their lines may interleave either way.
    expect(test.logs).toHaveLength(2);
    expect(test.logs).toEqual(
      expect.arrayContaining([
        { level: 'info', message: 'hello' },
        { level: 'warn', message: 'careful' },
      ]),
    );
    expect((await tunnel.done).reason).toBe('process exited (code 0)');
    expect(existsSync(dir)).toBe(true);
    await tunnel.close();
    expect(existsSync(dir)).toBe(false);
  });

  it("shows the provider's own tunnel live: getters read afresh, methods bound to it, each bound once", async () => {
    class Probed {
      readonly endpoint = 'x';
      readonly done = new Promise<never>(() => {});
      checks = 0;
      get hint() {
        return `checked ${this.checks}`;
      }
      async check() {
        this.checks += 1;
        return { ok: true };
      }
      async dial() {
        return new PassThrough();
      }
      async close() {}
    }
    const own = new Probed();
    const provider = defineProvider({
      apiVersion: 1,
      name: 'live',
      summary: 's',
      access: { options: z.object({}).strict(), open: async () => own },
    });
    const tunnel = (await provider.open({}, createTestContext({ target }).ctx)) as unknown as Probed;
    const check = tunnel.check;
    // Read on every probe: the same function each time, not a new bound copy per read.
    expect(tunnel.check).toBe(check);
    await check();
    expect(own.checks).toBe(1);
    expect(tunnel.hint).toBe('checked 1');
    // A method replaced on the tunnel is followed.
    own.check = async () => ({ ok: false });
    expect(tunnel.check).not.toBe(check);
    expect(await tunnel.check()).toEqual({ ok: false });
    await tunnel.close();
  });
});
