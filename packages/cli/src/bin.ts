#!/usr/bin/env node
import module from 'node:module';
import { daemonExecArgv } from './util/daemon-heap';
import { VERSION } from './version';

// Cache compiled code between runs (Node >= 22.1), so every command after the first starts faster.
module.enableCompileCache?.();

// A closed pipe (`tunnelmux events -f | head`) ends the command quietly instead of crashing it.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const args = process.argv.slice(2);
const daemon = daemonExecArgv(process.execPath, process.execArgv, process.argv, process.env.NODE_OPTIONS);
if (daemon && typeof process.execve === 'function') {
  // Same pid, same stdio: the caller never sees the second exec, only a daemon with a bounded young generation.
  process.execve(process.execPath, daemon, process.env);
} else if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  // The one answer scripts ask for most needs no argument parser.
  process.stdout.write(`${VERSION}\n`);
} else {
  // Plain `status`, `list` and `providers` skip commander; everything else goes through it.
  const { runFast } = await import('./fast-path');
  const fast = await runFast(args);
  if (fast !== undefined) process.exitCode = fast;
  else {
    const { run } = await import('./cli');
    process.exitCode = await run(process.argv);
  }
}
