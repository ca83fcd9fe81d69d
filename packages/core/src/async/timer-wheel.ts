import { monotonicNow } from './monotonic';

/** One pending callback on a wheel; pass it to `cancel`. */
export interface WheelEntry {
  readonly slot: number;
  fn: (() => void) | undefined;
}

/**
 * Many sleepers, one timer: callbacks are bucketed by due time into slots of `slotMs`, and a single global
 * setTimeout is armed for the earliest slot. A thousand paths' jittered sleeps would otherwise be a thousand
 * timers of distinct durations, and Node keeps a list and a priority-queue entry per distinct duration.
 * Uses the global timers and a monotonic clock (a wall clock set back must not hold every sleeper for an hour);
 * a callback fires at most one slot late.
 */
export class TimerWheel {
  private readonly slots = new Map<number, WheelEntry[]>();
  // Slot numbers with entries, ascending; new slots are nearly always the latest, so inserts are cheap.
  private readonly order: number[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private armedSlot = Number.POSITIVE_INFINITY;
  private size = 0;

  constructor(
    private readonly slotMs = 10,
    private readonly now: () => number = monotonicNow,
  ) {}

  /** Pending callbacks. */
  get pending(): number {
    return this.size;
  }

  /** Call `fn` after `ms` (rounded up to the next slot boundary). */
  add(ms: number, fn: () => void): WheelEntry {
    const slot = Math.ceil((this.now() + Math.max(0, ms)) / this.slotMs);
    const entry: WheelEntry = { slot, fn };
    const bucket = this.slots.get(slot);
    if (bucket) bucket.push(entry);
    else {
      this.slots.set(slot, [entry]);
      let i = this.order.length;
      while (i > 0 && this.order[i - 1]! > slot) i -= 1;
      this.order.splice(i, 0, slot);
    }
    this.size += 1;
    if (slot < this.armedSlot) this.arm(slot);
    return entry;
  }

  /** Drop a pending callback; harmless when it already ran or was cancelled. */
  cancel(entry: WheelEntry): void {
    if (entry.fn === undefined) return;
    entry.fn = undefined;
    this.size -= 1;
    // The slot itself stays until it comes due; an empty wheel needs no timer.
    if (this.size === 0) this.disarm();
  }

  private arm(slot: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedSlot = slot;
    this.timer = setTimeout(() => this.fire(), Math.max(0, slot * this.slotMs - this.now()));
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedSlot = Number.POSITIVE_INFINITY;
    this.slots.clear();
    this.order.length = 0;
  }

  /** Run every slot up to the one armed (by slot, not by clock, so a faked Date cannot strand it). */
  private fire(): void {
    const due = Math.max(this.armedSlot, Math.floor(this.now() / this.slotMs));
    this.timer = undefined;
    this.armedSlot = Number.POSITIVE_INFINITY;
    while (this.order.length > 0 && this.order[0]! <= due) {
      const slot = this.order.shift()!;
      const bucket = this.slots.get(slot)!;
      this.slots.delete(slot);
      for (const entry of bucket) {
        const fn = entry.fn;
        if (fn === undefined) continue;
        entry.fn = undefined;
        this.size -= 1;
        fn();
      }
    }
    // A callback may have added (and armed) already; arm for the earliest slot left either way.
    if (this.size === 0) this.disarm();
    else if (this.order.length > 0 && this.order[0]! < this.armedSlot) this.arm(this.order[0]!);
  }
}
