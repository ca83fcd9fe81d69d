import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { reportError } from './util/report-error';

// The commands scripts and status bars run most, in their plain forms, parsed by Node's own parseArgs: loading
// commander is about half of this process's start-up CPU. Anything else (help, an option not listed here, a
// --timeout to validate, a stray argument) is left to the full parser in cli.ts, which also explains mistakes.
type Options = NonNullable<ParseArgsConfig['options']>;
const CONTROL: Options = {
  json: { type: 'boolean' },
  socket: { type: 'string' },
  name: { type: 'string' },
  config: { type: 'string', short: 'c' },
};
const COMMANDS: Record<string, { options: Options; run: (values: never) => Promise<void> }> = {
  status: { options: CONTROL, run: async (values) => (await import('./commands/query')).status(values) },
  list: { options: CONTROL, run: async (values) => (await import('./commands/query')).list(values) },
  providers: {
    options: {
      json: { type: 'boolean' },
      detect: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
    },
    run: async (values) => (await import('./commands/providers')).providers(values),
  },
};

/** `--help` as written at build time (scripts/write-help.js renders it with commander, 80 columns). */
const HELP_FILE = new URL('./help.txt', import.meta.url);

/** Print the prebuilt top-level help, unless it is missing or a terminal is too narrow for its 80 columns. */
function printHelp(): number | undefined {
  if (process.stdout.isTTY && process.stdout.columns < 80) return undefined;
  let text: string;
  try {
    text = readFileSync(HELP_FILE, 'utf8');
  } catch {
    return undefined;
  }
  process.stdout.write(text);
  return 0;
}

/** Run `args` (without node and the script) if it is a plain form of a light command; undefined otherwise. */
export async function runFast(args: readonly string[]): Promise<number | undefined> {
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) return printHelp();
  const command = Object.hasOwn(COMMANDS, args[0] ?? '') ? COMMANDS[args[0]!] : undefined;
  if (!command) return undefined;
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: args.slice(1), options: command.options, strict: true }));
  } catch {
    return undefined;
  }
  try {
    await command.run(values as never);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return reportError(error, values.json === true);
  }
}
