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
