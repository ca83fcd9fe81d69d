// docs/writing-a-provider.md builds a working provider from its own text: its smallest example and its tsconfig
// are extracted, type-checked with the workspace's TypeScript and run through the contract suite.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Provider } from '@tunnelmux/core';
import { testProviderContract } from '@tunnelmux/core/testing';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const guide = readFileSync(path.join(root, 'docs/writing-a-provider.md'), 'utf8');

/** The fenced block right after `<!-- guide:NAME -->`. */
function block(name: string): string {
  const marker = guide.indexOf(`<!-- guide:${name} -->`);
  if (marker < 0) throw new Error(`docs/writing-a-provider.md has no <!-- guide:${name} --> marker`);
  const match = /```\w*\n([\s\S]*?)```/.exec(guide.slice(marker));
  if (!match) throw new Error(`no fenced block after <!-- guide:${name} -->`);
  return match[1]!;
}

// Inside this package, so the example resolves @tunnelmux/core and zod the way a provider package does.
const work = path.resolve(here, '../.guide');
rmSync(work, { recursive: true, force: true });
mkdirSync(path.join(work, 'src'), { recursive: true });
const example = block('smallest');
writeFileSync(path.join(work, 'src/index.ts'), example);
writeFileSync(path.join(work, 'tsconfig.json'), block('tsconfig'));
const provider = (await import(path.join(work, 'src/index.ts'))).default as Provider;

describe('docs/writing-a-provider.md', () => {
  it('has a smallest complete example under 60 lines', () => {
    expect(example.trim().split('\n').length).toBeLessThan(60);
  });

  it("type-checks with the guide's own tsconfig.json", () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const run = () =>
      execFileSync(process.execPath, [tsc, '-p', work], { encoding: 'utf8', timeout: 120_000 });
    expect(run).not.toThrow();
  }, 150_000);

  it('names the tool versions this outside-style provider builds with', () => {
    const workspace = JSON.parse(
      readFileSync(path.join(root, 'examples/tunnelmux-provider-socat/package.json'), 'utf8'),
    ) as {
      devDependencies: Record<string, string>;
    };
    const table = guide.slice(guide.indexOf('<!-- guide:versions -->'));
    for (const tool of ['typescript', 'tsup', 'vitest', 'vite']) {
      const version = workspace.devDependencies[tool]!.replaceAll('.', '\\.');
      expect(table, `${tool} in the guide's version table`).toMatch(
        new RegExp(`\\| \`${tool}\` +\\| \`${version}\``),
      );
    }
  });
});

// The example, run through the same suite as every provider, against the real socat.
testProviderContract({ provider, options: () => ({}), badOptions: [{ bin: '' }, { listen: 2222 }] });
