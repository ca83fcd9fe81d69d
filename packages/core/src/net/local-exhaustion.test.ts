import { describe, expect, it } from 'vitest';
import { TunnelmuxError } from '../errors';
import { isOutOfDescriptors } from './local-exhaustion';

const errno = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe('isOutOfDescriptors', () => {
  it('knows EMFILE and ENFILE, also as the cause of a wrapped error', () => {
    expect(isOutOfDescriptors(errno('EMFILE'))).toBe(true);
    expect(isOutOfDescriptors(errno('ENFILE'))).toBe(true);
    expect(isOutOfDescriptors(new TunnelmuxError('dial failed', { cause: errno('EMFILE') }))).toBe(true);
  });

  it("is false for errors that are the path's fault, and for non-errors", () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'])
      expect(isOutOfDescriptors(errno(code))).toBe(false);
    expect(isOutOfDescriptors(undefined)).toBe(false);
    expect(isOutOfDescriptors('EMFILE')).toBe(false);
  });

  it('stops on a cause cycle', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    a.cause = a;
    expect(isOutOfDescriptors(a)).toBe(false);
  });
});
