// `pnpm mutation`: StrykerJS over the files issue 18 names, one group at a time (each with its own incremental
// file, so a rerun tests only what changed). Too slow for CI: hours on two cores. `pnpm mutation <group>...`
// picks groups. Reports: packages/*/reports/mutation/<group>.html; scores and survivors: docs/mutation.md.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GROUPS = {
  'front-door': { dir: 'packages/core', config: 'stryker.config.mjs', env: { MUTATION_GROUP: 'front-door' } },
  failover: { dir: 'packages/core', config: 'stryker.config.mjs', env: { MUTATION_GROUP: 'failover' } },
  probe: { dir: 'packages/core', config: 'stryker.config.mjs', env: { MUTATION_GROUP: 'probe' } },
  reaper: { dir: 'packages/core', config: 'stryker.reaper.config.mjs', env: {} },
  'config-loader': { dir: 'packages/cli', config: 'stryker.config.mjs', env: {} },
};
const picked = process.argv.slice(2);
const unknown = picked.filter((name) => !(name in GROUPS));
if (unknown.length > 0) {
  console.error(
    `error: unknown group ${unknown.join(', ')}; expected some of ${Object.keys(GROUPS).join(', ')}`,
  );
  process.exit(2);
}
const stryker = path.join(root, 'node_modules', '.bin', 'stryker');
let failed = false;
for (const name of picked.length > 0 ? picked : Object.keys(GROUPS)) {
  const group = GROUPS[name];
  console.log(`\n== mutation: ${name} (${group.dir})`);
  // The fuzz properties run 10,000 times in CI; per mutant, 200 runs are plenty to see a difference.
  const result = spawnSync('nice', [stryker, 'run', group.config], {
    cwd: path.join(root, group.dir),
    env: { ...process.env, TUNNELMUX_FUZZ_RUNS: '200', ...group.env },
    stdio: 'inherit',
  });
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
