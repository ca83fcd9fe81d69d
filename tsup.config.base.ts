import { defineConfig, type Options } from 'tsup';

// One build recipe for every package: ESM, declarations, Node 22+.
export function packageConfig(entry: Options['entry'] = ['src/index.ts'], extra: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm'],
    target: 'node22',
    platform: 'node',
    dts: true,
    clean: true,
    sourcemap: true,
    splitting: true,
    treeshake: true,
    ...extra,
  });
}
