import { defineConfig } from 'tsup';

// The package's own build, as an outsider would write it: ESM and declarations for Node 22+.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  target: 'node22',
  platform: 'node',
  dts: true,
  clean: true,
  sourcemap: true,
});
