#!/usr/bin/env node
// Reads a `turbo run test` log on stdin (or from the file named), prints the closing line; --json for details.
import { readFileSync } from 'node:fs';
import { closingLine, failureLines, summarize } from './summary.ts';

const args = process.argv.slice(2);
const file = args.find((arg) => !arg.startsWith('--'));
const summary = summarize(readFileSync(file ?? 0, 'utf8'));
if (args.includes('--json')) console.log(JSON.stringify(summary, null, 2));
else {
  // Failures first: CI shows only a log's tail, and the closing line stays the last line.
  for (const line of failureLines(summary)) console.log(line);
  console.log(closingLine(summary));
}
