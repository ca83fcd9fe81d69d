import { describe, expect, it } from 'vitest';
import { parseTimeout } from '../cli';
import { parseAddress } from './address';

// Inputs parsers.fuzz.test.ts found: the whole value came back in the message, however long.
describe('a long bad value is clipped in the message', () => {
  it('parseAddress', () => {
    expect(() => parseAddress(`${' '.repeat(600)}!${' '.repeat(600)}! `, '--listen')).toThrow(
      /^\[tunnelmux\] --listen must be host:port such as 127\.0\.0\.1:2222 \(or a port number\), got "! +… \(\d+ more\)$/,
    );
    expect(() => parseAddress('devbox:99999', '--listen')).toThrow(/got "devbox:99999"$/);
    expect(parseAddress(' [::1]:22 ', '--listen')).toEqual({ host: '::1', port: 22 });
  });

  it('parseTimeout', () => {
    expect(() => parseTimeout(' '.repeat(1000))).toThrow(/, got " +… \(\d+ more\)$/);
    expect(() => parseTimeout('25h')).toThrow(/^expected a duration from 1ms to 24h .*, got "25h"$/);
    expect(parseTimeout('1.5s')).toBe(1500);
  });
});
