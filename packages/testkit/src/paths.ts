import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The testkit package folder, found from wherever this code was bundled to. */
export function testkitRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === '@tunnelmux/testkit')
      return dir;
    dir = path.dirname(dir);
  }
  throw new Error('[tunnelmux] [testkit] cannot find the @tunnelmux/testkit folder above ' + import.meta.url);
}

/** The folder of fake executables (`cloudflared`, `ngrok`, `tailscale`, ...), to put first on PATH. */
export function fakeBinDir(): string {
  return path.join(testkitRoot(), 'bin');
}

/** Lets the fakes' test hooks through core's minimal child environment, the way a user passes a variable. */
export const FAKE_PASS_ENV = { TUNNELMUX_PASS_ENV: 'TUNNELMUX_FAKE_*' } as const;

/** An environment whose PATH finds the fake executables first, and whose children see the fakes' hooks. */
export function fakeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${fakeBinDir()}${path.delimiter}${process.env.PATH ?? ''}`,
    ...FAKE_PASS_ENV,
    ...extra,
  };
}
