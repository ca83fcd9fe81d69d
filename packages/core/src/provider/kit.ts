// The provider kit: what core binds to one provider and path before a mode's `open` runs, so providers carry only
// what is specific to their tool.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ProviderError } from '../errors';
import { stampError } from '../errors/stamp';
import type { ChildHandle } from '../process/child';
import { modeOf } from './mode';
import type { BaseOpenContext, LineParser, OpenContext, Provider, Tunnel } from './types';

/** The one "not installed" error: where it was looked for and how to install it. */
export function notInstalled(provider: Provider, bin?: string): ProviderError {
  const command = provider.binary?.command ?? provider.name;
  const where = bin ? `at ${JSON.stringify(bin)} (option "bin")` : 'on PATH';
  const install = provider.binary?.install ? `install it from ${provider.binary.install}` : 'install it';
  return new ProviderError(
    `${command} was not found ${where}: ${install}${bin ? '' : ', or set option "bin" to its path'}`,
    { provider: provider.name, fatal: true },
  );
}

const defaultParse: LineParser = (line) => ({
  level: line.stream === 'stderr' ? 'warn' : 'info',
  message: line.text,
});

/** Open a path in `ctx.mode` with the kit bound to `provider`; errors leave stamped with provider and path. */
export async function openWithKit(
  provider: Provider,
  options: unknown,
  base: BaseOpenContext,
): Promise<Tunnel> {
  const stamp = (error: unknown) => stampError(error, provider.name, base.pathId);
  const mode = modeOf(provider, base.mode, base.pathId);
  let temp: Promise<string> | undefined;
  let unguardTemp: (() => void) | undefined;
  const removeTemp = async () => {
    if (!temp) return;
    const dir = await temp.catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
    unguardTemp?.();
  };
  const passEnv = provider.binary?.env ?? [];
  const ctx: OpenContext = {
    ...base,
    spawn: (command, args, spawnOptions = {}) =>
      base.spawn(command, args, { ...spawnOptions, passEnv: [...passEnv, ...(spawnOptions.passEnv ?? [])] }),
    childEnv: (pass = [], own) => base.childEnv([...passEnv, ...pass], own),
    async findBinary(bin) {
      const found = await base.which(provider.binary?.command ?? provider.name, bin);
      if (!found) throw notInstalled(provider, bin);
      return found;
    },
    forwardLines: (child: ChildHandle, parse = defaultParse) =>
      child.onLine((line) => {
        const entry = parse(line);
        if (entry) base.log[entry.level](entry.message, entry.fields);
      }),
    tempDir() {
      temp ??= mkdtemp(path.join(os.tmpdir(), `tunnelmux-${provider.name}-`)).then((dir) => {
        // mkdtemp makes the folder 0700; the reaper removes it if tunnelmux dies before close().
        unguardTemp = base.undoIfOrphaned('/bin/rm', ['-rf', dir]);
        return dir;
      });
      return temp;
    },
  };
  let tunnel: Tunnel;
  try {
    tunnel = await mode.open(options, ctx);
  } catch (error) {
    await removeTemp();
    throw stamp(error);
  }
  const dial: Tunnel['dial'] = (signal) =>
    tunnel.dial(signal).catch((error: unknown) => Promise.reject(stamp(error)));
  const close = async () => {
    try {
      await tunnel.close();
    } finally {
      await removeTemp();
    }
  };
  // A view of the provider's own tunnel (class getters and methods stay live) with stamped dials and a close that
  // also removes the temp folder. A method is bound once, not on every read: `check` is read on every probe.
  type Method = (...args: never[]) => unknown;
  // Keyed by the method itself: one replaced on the tunnel is a new function, bound afresh.
  const bound = new WeakMap<Method, Method>();
  return new Proxy(tunnel, {
    get(target, key) {
      if (key === 'dial') return dial;
      if (key === 'close') return close;
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      let method = bound.get(value as Method);
      if (!method) {
        method = (value as Method).bind(target);
        bound.set(value as Method, method);
      }
      return method;
    },
  });
}
