import { describe, expect, it } from 'vitest';
import { type Linked, LinkedList } from './linked-list';

interface Item extends Linked<Item> {
  name: string;
}
const item = (name: string): Item => ({ name, linkPrev: undefined, linkNext: undefined });
const names = (list: LinkedList<Item>) => list.toArray().map((node) => node.name);

describe('LinkedList', () => {
  it('keeps nodes in the order added, and takes any of them off', () => {
    const list = new LinkedList<Item>();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(item) as [Item, Item, Item, Item];
    for (const node of [a, b, c, d]) list.add(node);
    expect(names(list)).toEqual(['a', 'b', 'c', 'd']);
    expect(list.size).toBe(4);
    expect(list.remove(b)).toBe(true);
    expect(names(list)).toEqual(['a', 'c', 'd']);
    expect(list.remove(a)).toBe(true);
    expect(list.remove(d)).toBe(true);
    expect(names(list)).toEqual(['c']);
    expect(list.head).toBe(c);
    // The tail follows removals: the next node goes after the last one left.
    list.add(b);
    expect(names(list)).toEqual(['c', 'b']);
    expect(list.size).toBe(2);
  });

  it('leaves no links on a removed node, and ignores one that is not on the list', () => {
    const list = new LinkedList<Item>();
    const [a, b, c] = ['a', 'b', 'c'].map(item) as [Item, Item, Item];
    for (const node of [a, b, c]) list.add(node);
    list.remove(b);
    expect(b.linkPrev).toBeUndefined();
    expect(b.linkNext).toBeUndefined();
    expect(list.remove(b)).toBe(false);
    expect(list.remove(item('x'))).toBe(false);
    expect(names(list)).toEqual(['a', 'c']);
    expect(list.size).toBe(2);
    list.remove(a);
    list.remove(c);
    expect(list.head).toBeUndefined();
    expect(list.size).toBe(0);
    list.add(a);
    expect(names(list)).toEqual(['a']);
  });
});
