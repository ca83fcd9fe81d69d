import { describe, expect, it } from 'vitest';
import { runDemo } from './demo';

describe('runDemo', () => {
  it('runs the scripted faults through the front door and prints its summary', {
    timeout: 60_000,
  }, async () => {
    const lines: string[] = [];
    const summary = await runDemo({ write: (line) => lines.push(line), scale: 0.7 });
    const text = lines.join('\n');

    // On failure, show the whole run: it is the best description of what went wrong.
    expect(text, text).toMatch(/>>> crash \w: SIGKILL its process/);
    expect(text, text).toMatch(/\+\d+\.\d\ds {2}failover {2}\w -> \w {2}\(/);
    expect(text, text).toMatch(/>>> black-hole \w/);
    expect(text, text).toMatch(/^summary$/m);
    expect(text, text).toMatch(/client connections {3}\d+ ok, \d+ failed/);
    expect(summary.connections.ok).toBeGreaterThan(0);
    // The crash and the black hole each move the primary.
    expect(summary.failovers, text).toBeGreaterThanOrEqual(2);
  });
});
