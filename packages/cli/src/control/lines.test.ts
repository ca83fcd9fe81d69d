import { describe, expect, it } from 'vitest';
import { LineSplitter } from './lines';

describe('LineSplitter', () => {
  it('joins a line sent in pieces, even inside a multi-byte character', () => {
    const splitter = new LineSplitter(100);
    const bytes = Buffer.from('{"id":1,"x":"é"}\n{"id":2}\n');
    const cut = bytes.indexOf(Buffer.from('é')) + 1;
    expect(splitter.push(bytes.subarray(0, cut))).toEqual({ lines: [], tooLong: false });
    expect(splitter.push(bytes.subarray(cut))).toEqual({
      lines: ['{"id":1,"x":"é"}', '{"id":2}'],
      tooLong: false,
    });
  });

  it('takes a line of exactly the limit and refuses one byte more, complete or not', () => {
    expect(new LineSplitter(4).push(Buffer.from('abcd\n'))).toEqual({ lines: ['abcd'], tooLong: false });
    expect(new LineSplitter(4).push(Buffer.from('abcde\n')).tooLong).toBe(true);
    const trickle = new LineSplitter(4);
    expect(trickle.push(Buffer.from('abc')).tooLong).toBe(false);
    expect(trickle.push(Buffer.from('de')).tooLong).toBe(true);
  });
});
