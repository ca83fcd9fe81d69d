import { type Linked, LinkedList } from '../collections/linked-list';

/** Something with a deadline on a DeadlineList; the list links it through its own fields, so adding allocates nothing. */
export interface DeadlineNode extends Linked<DeadlineNode> {
  deadlineAt: number;
  /** Called once the deadline has passed, unless the node was removed first. */
  onDeadline(): void;
}

/**
 * Many short deadlines that are nearly always cancelled (a dial's limit, a first byte's wait), on one lazily
 * armed timer. A Node timer per deadline costs a list and a priority-queue entry per duration, made and torn
 * down for every connection; here adding and removing only link and unlink, and the timer is re-armed only
 * when a new deadline is the earliest, or when it fires. A deadline fires when due, never before it, and at
 * most a timer's lateness after. The timer is unref'd: it never keeps the process alive by itself.
 */
export class DeadlineList {
  private readonly nodes = new LinkedList<DeadlineNode>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedAt = Number.POSITIVE_INFINITY;

  // Only differences are taken, so performance.now() serves (monotonic, and it allocates no Date).
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Call `node.onDeadline()` in `ms`; a node already on the list is moved to its new deadline. */
  add(node: DeadlineNode, ms: number): void {
    this.nodes.remove(node);
    node.deadlineAt = this.now() + Math.max(0, ms);
    this.nodes.add(node);
    if (node.deadlineAt < this.armedAt) this.arm(node.deadlineAt);
  }

  /** Take `node` off the list; harmless when it is not on it. The timer stays armed: it finds nothing due. */
  remove(node: DeadlineNode): void {
    this.nodes.remove(node);
  }

  /** How many are waiting (for tests and status). */
  get size(): number {
    return this.nodes.size;
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedAt = at;
    // Rounded up and one more: the timers' clock may run a little behind this one.
    this.timer = setTimeout(this.fire, Math.max(0, Math.ceil(at - this.now())) + 1);
    this.timer.unref?.();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    // Unlink every due node first: a callback may add or remove others (a cut stream closes its peers).
    const due: DeadlineNode[] = [];
    let earliest = Number.POSITIVE_INFINITY;
    for (let node = this.nodes.head; node; ) {
      const next = node.linkNext;
      if (node.deadlineAt <= now) {
        this.nodes.remove(node);
        due.push(node);
      } else if (node.deadlineAt < earliest) {
        earliest = node.deadlineAt;
      }
      node = next;
    }
    if (earliest < this.armedAt) this.arm(earliest);
    for (const node of due) node.onDeadline();
  };
}
