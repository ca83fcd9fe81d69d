/** A node a LinkedList links through its own two fields, so adding and removing allocate nothing. */
export interface Linked<T> {
  linkPrev: T | undefined;
  linkNext: T | undefined;
}

/**
 * A doubly-linked list through its nodes' own fields: add and remove in O(1) with no table to grow and shrink
 * per item, for things made and dropped by the thousand (connections, their meters, their deadlines). A node is
 * on at most one list at a time.
 */
export class LinkedList<T extends Linked<T>> {
  head: T | undefined;
  private tail: T | undefined;
  size = 0;

  /** Append `node`, which must not be on a list. */
  add(node: T): void {
    node.linkPrev = this.tail;
    node.linkNext = undefined;
    if (this.tail) this.tail.linkNext = node;
    else this.head = node;
    this.tail = node;
    this.size += 1;
  }

  /** Take `node` off; false, and nothing changed, when it is not on this list. */
  remove(node: T): boolean {
    if (node.linkPrev === undefined && this.head !== node) return false;
    if (node.linkPrev) node.linkPrev.linkNext = node.linkNext;
    else this.head = node.linkNext;
    if (node.linkNext) node.linkNext.linkPrev = node.linkPrev;
    else this.tail = node.linkPrev;
    // No link left behind: a removed node must not hold on to the ones after it.
    node.linkPrev = undefined;
    node.linkNext = undefined;
    this.size -= 1;
    return true;
  }

  /** The nodes in order, as an array: safe to walk while callbacks remove them. */
  toArray(): T[] {
    const nodes: T[] = [];
    for (let node = this.head; node; node = node.linkNext) nodes.push(node);
    return nodes;
  }
}
