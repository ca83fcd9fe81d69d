import { dialTcp, freePort, waitForPort } from '../net/tcp';
import { spawnChild } from '../process/child';
import { childEnv } from '../process/child-env';
import { undoIfOrphaned } from '../process/reaper';
import { which } from '../process/which';
import type { ProviderHelpers } from './types';

/** The helpers every provider context carries, bound to one environment. */
export function createHelpers(env: NodeJS.ProcessEnv = process.env): ProviderHelpers {
  return {
    env,
    childEnv: (passEnv, own) => childEnv(env, passEnv, own),
    spawn: (command, args, options) => spawnChild(command, args, env, options),
    freePort,
    waitForPort,
    dialTcp,
    which: (command, bin) => which(command, env, bin),
    undoIfOrphaned: (command, args, own) =>
      undoIfOrphaned(command, args, childEnv(env, [], own) as Record<string, string>),
  };
}
