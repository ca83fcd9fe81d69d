import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN, cli, testdir } from './harness';

// Start-up (issue 19): the commands that open no path run from dist/bin.js and dist/fast-path.js alone. Every
// other module, built-in modules imported as ES modules included, costs start-up time; these tests list what
// the built CLI actually loads, through a module hook in the child.
const DIST = path.dirname(BIN);

/** A module hook that appends every module the process loads to $LOADS_FILE (no ES import of its own). */
const HOOK = `
const { registerHooks } = process.getBuiltinModule('node:module');
const { appendFileSync } = process.getBuiltinModule('node:fs');
registerHooks({
  load(url, context, next) {
    appendFileSync(process.env.LOADS_FILE, url + '\\n');
    return next(url, context);
  },
});
`;

/** Run the built CLI with `args` and return what it loaded: dist files by name, packages by name, node: ids. */
async function loads(work: ReturnType<typeof testdir>, args: string[], cwd = work.dir) {
  const hook = path.join(work.dir, 'log-loads.mjs');
  const file = path.join(work.dir, `loads-${args.join('-').replace(/\W+/g, '_')}.txt`);
  writeFileSync(hook, HOOK);
  writeFileSync(file, '');
  const result = await cli(args, {
    cwd,
    env: { ...work.env, LOADS_FILE: file, NODE_OPTIONS: `--import "${hook}"` },
  });
  const loaded = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((url) => {
      if (url.startsWith('node:')) return url;
      const loadedFile = fileURLToPath(url);
      if (path.dirname(loadedFile) === DIST) return `dist/${path.basename(loadedFile)}`;
      const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(loadedFile);
      return pkg ? `package ${pkg[1]}` : loadedFile;
    });
  return { result, loaded };
}

describe('the light commands load only their two files', () => {
  it('--version, --help, providers, status and list load dist/bin.js, dist/fast-path.js and node:module', async () => {
    const work = testdir();
    try {
      const missing = path.join(work.dir, 'none.sock');
      expect((await loads(work, ['--version'])).loaded).toEqual(['dist/bin.js', 'node:module']);
      for (const args of [
        ['--help'],
        ['providers', '--json'],
        ['providers'],
        ['status', '--json', '--socket', missing],
        ['list', '--socket', missing],
      ]) {
        const { result, loaded } = await loads(work, args);
        expect(result.stdout.length + result.stderr.length, args.join(' ')).toBeGreaterThan(0);
        expect([...new Set(loaded)].sort(), args.join(' ')).toEqual([
          'dist/bin.js',
          'dist/fast-path.js',
          'node:module',
        ]);
      }
    } finally {
      work.cleanup();
    }
  });

  it('a config, or a form the fast path leaves to commander, loads what it needs from the split build', async () => {
    const work = testdir({ 'tunnelmux.yaml': 'target: 127.0.0.1:22\npaths: [{ id: a, provider: local }]\n' });
    try {
      const withConfig = await loads(work, ['providers', '--json']);
      expect(withConfig.result.exitCode).toBe(0);
      expect(withConfig.loaded).toContain('dist/config-load.js');
      expect(withConfig.loaded).toContain('package yaml');
      const full = await loads(work, [
        'status',
        '--timeout',
        '5s',
        '--socket',
        path.join(work.dir, 'x.sock'),
      ]);
      expect(full.loaded).toContain('dist/cli.js');
      expect(full.loaded).toContain('package commander');
    } finally {
      work.cleanup();
    }
  });
});
