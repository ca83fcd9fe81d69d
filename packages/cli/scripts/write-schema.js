// Writes schema/tunnelmux.schema.json from the built config schema; run by `pnpm build` (and `pnpm schema`).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../dist/index.js';

const file = fileURLToPath(new URL('../schema/tunnelmux.schema.json', import.meta.url));
writeFileSync(file, configJsonSchemaText());
// In the monorepo, leave the file the way the repo's formatter wants it (the test compares data, not text).
spawnSync('biome', ['format', '--write', file], { stdio: 'ignore', shell: false });
console.log(`wrote ${file}`);
