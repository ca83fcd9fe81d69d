// Writes dist/help.txt, the top-level help as commander renders it (80 columns, no TTY), for `tunnelmux --help`
// to print without loading commander; run by `pnpm build` after tsup. `tunnelmux help` still renders it live.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const file = fileURLToPath(new URL('../dist/help.txt', import.meta.url));
const result = spawnSync(process.execPath, [bin, 'help'], { encoding: 'utf8', timeout: 30_000 });
if (result.status !== 0 || !result.stdout.startsWith('Usage: tunnelmux')) {
  console.error(`write-help: \`tunnelmux help\` exited ${result.status}: ${result.stderr || result.stdout}`);
  process.exit(1);
}
writeFileSync(file, result.stdout);
console.log(`wrote ${file}`);
