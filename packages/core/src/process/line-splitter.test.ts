import { describe, expect, it } from 'vitest';
import { LineSplitter, RingBuffer } from './line-splitter';

describe('LineSplitter', () => {
  it('splits across chunks and strips CR', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    splitter.push('one\r\ntw');
    splitter.push('o\nthree');
    splitter.end();
    expect(lines).toEqual(['one', 'two', 'three']);
  });

  it('caps an endless line instead of buffering it', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), 10);
    for (let i = 0; i < 10_000; i++) splitter.push('x'.repeat(1000));
    splitter.push('\nnext\n');
    expect(lines).toEqual([`${'x'.repeat(10)}… [truncated]`, 'next']);
  });
});

describe('RingBuffer', () => {
  it('keeps the newest items', () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 0; i < 10; i++) ring.push(i);
    expect(ring.toArray()).toEqual([7, 8, 9]);
  });
});

describe('LineSplitter on bytes', () => {
  it('keeps a character split across chunks whole, and caps by bytes', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line), 8);
    const euro = Buffer.from('€'); // three bytes
    splitter.push(Buffer.concat([Buffer.from('a'), euro.subarray(0, 1)]));
    splitter.push(Buffer.concat([euro.subarray(1), Buffer.from('b\r\n')]));
    splitter.push(Buffer.from('0123456789\n'));
    splitter.push(Buffer.from('tail'));
    splitter.end();
    expect(lines).toEqual(['a€b', '01234567… [truncated]', 'tail']);
  });

  it('emits an empty line for a bare newline, and nothing more at end', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    splitter.push(Buffer.from('\n\r\n'));
    splitter.end();
    expect(lines).toEqual(['', '']);
  });
});
