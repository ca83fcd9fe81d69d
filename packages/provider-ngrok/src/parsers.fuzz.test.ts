import { anyOptions, anyText, checkOptionsVerdict, FUZZ_RUNS } from '@tunnelmux/testkit/fuzz';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agentEvent, maskTokens, parseAgentFailure, parseAgentRecord } from './agent-log';
import ngrok, { parseNgrokVersion } from './index';
import { optionsSchema, parseTcpAddress } from './options';

// What the ngrok agent prints and what a user writes under `options:`, fuzzed; fast-check prints a failure's seed.
const agentLine = fc.oneof(
  anyText,
  fc.stringMatching(/^t=\S{1,10} lvl=(info|eror|warn) msg="[ -!#-~]{0,20}"( (addr|url|err|obj)=\S{0,12})*$/),
  fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
  fc.stringMatching(/^ERROR: {1,2}[ -~]{0,30}(ERR_NGROK_\d{1,4})?$/),
);

describe('ngrok parsers, fuzzed', () => {
  it('parseNgrokVersion and parseTcpAddress: a value, or nothing', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.stringMatching(/^ngrok version \d\.\d{1,2}\.\d{1,2}$/)), (text) => {
        const version = parseNgrokVersion(text);
        if (version) expect(version).toMatch(/^\S+$/);
        const address = parseTcpAddress(text);
        if (address) expect(address.port >= 1 && address.port <= 65535).toBe(true);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('the agent log parsers take any line, and masking never grows a token back', () => {
    fc.assert(
      fc.property(fc.array(agentLine, { maxLength: 6 }), (lines) => {
        for (const line of lines) {
          const record = parseAgentRecord(line);
          if (record) for (const value of Object.values(record)) expect(typeof value).toBe('string');
          agentEvent(line);
          expect(maskTokens(maskTokens(line))).toBe(maskTokens(line));
        }
        parseAgentFailure(lines);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('options: accepted, or a ConfigError naming the path and field', async () => {
    await fc.assert(
      fc.asyncProperty(anyOptions(optionsSchema), (options) => checkOptionsVerdict(ngrok, options)),
      { numRuns: FUZZ_RUNS },
    );
  }, 300_000);
});
