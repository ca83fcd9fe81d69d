import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Options } from 'tsup';
import { packageConfig } from '../../tsup.config.base';

type Plugin = NonNullable<Options['esbuildPlugins']>[number];

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const define = { __TUNNELMUX_CLI_VERSION__: JSON.stringify(version) };

// Start-up (issue 19): each ES module costs a resolve, a read and a link, so the commands that open no path
// (`--version`, `--help`, plain `status`, `list`, `providers`) run from two files, dist/bin.js and
// dist/fast-path.js, built whole and without code splitting. What only some of them need (the argument parser,
// the YAML/zod config loader, provider imports) stays in the split build below and is imported from there by
// file name, at the moment it is needed.

/** Source files the light files import from the split build, by the output name they get there. */
const SPLIT = {
  cli: 'src/cli.ts',
  'config-load': 'src/config/load.ts',
  'provider-load': 'src/discovery/load.ts',
  'provider-detect': 'src/discovery/detect.ts',
};
/** The light files, by output name. */
const LIGHT = { bin: 'src/bin.ts', 'fast-path': 'src/fast-path.ts' };
/** Small packages inlined into the light files (a bare import is resolved through node_modules each run). */
const INLINE = ['picocolors', 'env-paths', 'is-safe-filename', 'ms'];

const here = path.dirname(fileURLToPath(import.meta.url));
const outputOf = new Map(
  Object.entries({ ...SPLIT, ...LIGHT }).map(([name, file]) => [path.join(here, file), `./${name}.js`]),
);

/** Namespace of the stand-in modules through which the light files reach Node's built-in modules. */
const BUILTIN = 'tunnelmux-builtin';
/** The stand-in that fetches a built-in module (createRequire on Node before 22.3, which lacks getBuiltinModule). */
const BUILTIN_LOADER = '(loader)';

/**
 * In the light build: an import of a split-build entry or of the other light file stays an import of that output
 * file; packages are inlined (INLINE) or, when imported with import(), left to load at that moment. A static import
 * of any other package fails the build: it would load on every light command.
 *
 * Built-in modules are fetched with process.getBuiltinModule instead of `import`: an ES import of `node:fs`,
 * `node:util` or `node:process` builds its namespace from every export, which loads streams, readline, worker
 * threads and more (about a quarter of these commands' CPU); the plain object loads each part on first use.
 */
const lightImports: Plugin = {
  name: 'tunnelmux-light-imports',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (args.namespace === BUILTIN) {
        return args.path === BUILTIN_LOADER
          ? { path: BUILTIN_LOADER, namespace: BUILTIN }
          : { path: args.path, external: true };
      }
      const bare = args.path.replace(/^node:/, '');
      if (args.path.startsWith('node:') || builtinModules.includes(bare))
        return { path: bare, namespace: BUILTIN };
      if (args.path.startsWith('.')) {
        const resolved = path.join(args.resolveDir, args.path);
        const output = outputOf.get(`${resolved}.ts`) ?? outputOf.get(resolved);
        if (!output) return undefined;
        if (args.kind === 'dynamic-import') return { path: output, external: true };
        return { errors: [{ text: `${args.path} is built apart; a light command must import() it` }] };
      }
      if (INLINE.includes(args.path)) return undefined;
      if (args.kind === 'dynamic-import') return { path: args.path, external: true };
      return {
        errors: [
          {
            text: `a light command imports ${args.path} statically; import() it where it is needed, or inline it (INLINE in tsup.config.ts)`,
          },
        ],
      };
    });
    build.onLoad({ filter: /.*/, namespace: BUILTIN }, (args) => {
      if (args.path === BUILTIN_LOADER) {
        return {
          loader: 'js',
          contents:
            "import { createRequire } from 'node:module';\n" +
            'export const builtin = process.getBuiltinModule ?? createRequire(import.meta.url);\n',
        };
      }
      // One export per name, each read only if some light module imports it (unused ones are tree-shaken): reading
      // the descriptor of a lazy export (util.diff, fs.Dir, ...) loads what is behind it.
      const id = `node:${args.path}`;
      const names = Object.keys(process.getBuiltinModule(id) ?? {}).filter((name) => name !== 'default');
      return {
        loader: 'js',
        contents: [
          `import { builtin } from ${JSON.stringify(BUILTIN_LOADER)};`,
          `const m = builtin(${JSON.stringify(id)});`,
          'export default m;',
          ...names.map(
            (name, i) =>
              `const e${i} = /* @__PURE__ */ Reflect.get(m, ${JSON.stringify(name)}); export { e${i} as ${name} };`,
          ),
        ].join('\n'),
      };
    });
  },
};

export default [
  packageConfig(
    { index: 'src/index.ts', 'demo-forwarder': 'src/demo-forwarder.ts', ...SPLIT },
    {
      define,
      dts: { entry: { index: 'src/index.ts', 'demo-forwarder': 'src/demo-forwarder.ts' } },
      // The light build writes these beside the split build's output, at the same time.
      clean: ['!bin.js', '!bin.js.map', '!fast-path.js', '!fast-path.js.map'],
    },
  ),
  packageConfig(LIGHT, {
    define,
    dts: false,
    clean: false,
    splitting: false,
    // Every package reaches the plugin below, which inlines or refuses it.
    noExternal: [/./],
    removeNodeProtocol: false,
    esbuildPlugins: [lightImports],
  }),
];
