import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FORCE_AFTER_MS, onStopSignals, signalExitCode, signalName } from './stop-signals';

function rig(signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']) {
  const source = new EventEmitter();
  let clock = 0;
  const calls: string[] = [];
  const remove = onStopSignals(
    signals,
    { stop: (signal) => calls.push(`stop ${signal}`), force: (signal) => calls.push(`force ${signal}`) },
    source,
    () => clock,
  );
  return {
    calls,
    remove,
    send: (signal: NodeJS.Signals, at: number) => {
      clock = at;
      source.emit(signal);
    },
    listeners: () => signals.reduce((n, signal) => n + source.listenerCount(signal), 0),
  };
}

describe('stop signals', () => {
  it('the first starts the stop; one more a second or more later forces the exit', () => {
    const { calls, send } = rig();
    send('SIGINT', 5000);
    send('SIGINT', 5000 + FORCE_AFTER_MS);
    expect(calls).toEqual(['stop SIGINT', 'force SIGINT']);
  });

  it('ignores the duplicate that one Ctrl-C under npm run delivers at once', () => {
    const { calls, send } = rig();
    send('SIGINT', 5000);
    send('SIGINT', 5000);
    send('SIGINT', 5000 + FORCE_AFTER_MS - 1);
    expect(calls).toEqual(['stop SIGINT']);
  });

  it('counts any of its signals as the second, and only its own', () => {
    const { calls, send, listeners, remove } = rig(['SIGINT', 'SIGTERM']);
    send('SIGHUP', 0);
    send('SIGTERM', 100);
    send('SIGINT', 100 + FORCE_AFTER_MS);
    expect(calls).toEqual(['stop SIGTERM', 'force SIGINT']);
    expect(listeners()).toBe(2);
    remove();
    expect(listeners()).toBe(0);
  });

  it('exits as the shell reports death by that signal, and names Ctrl-C as the user pressed it', () => {
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
    expect(signalExitCode('SIGHUP')).toBe(129);
    expect(signalName('SIGINT')).toBe('Ctrl-C');
    expect(signalName('SIGTERM')).toBe('SIGTERM');
  });
});
