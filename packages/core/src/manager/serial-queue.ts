/** Runs operations one at a time, in call order, so racing stop/restart calls end in a defined state. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.tail.then(operation, operation);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Settles once every operation queued so far has. */
  idle(): Promise<unknown> {
    return this.tail;
  }
}
