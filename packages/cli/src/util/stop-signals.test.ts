import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { exitNow, FORCE_AFTER_MS, onStopSignals, signalExitCode, signalName } from './stop-signals';

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

  it('the second signal exits with its code, says why, removes the socket and ends --json output with a forced line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'stop-signals-'));
    const socket = path.join(dir, 'relay.sock');
    writeFileSync(socket, '');
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      exitNow('SIGTERM', { socket, json: true, afterwards: 'the reaper ends the rest' });
      expect(exit).toHaveBeenCalledWith(143);
      expect(stderr).toHaveBeenCalledWith(
        '[tunnelmux] SIGTERM again: exiting now without finishing the stop; the reaper ends the rest\n',
      );
      expect(JSON.parse(String(stdout.mock.calls[0]?.[0]))).toMatchObject({
        type: 'stopped',
        code: 143,
        forced: true,
      });
      expect(existsSync(socket)).toBe(false);
    } finally {
      exit.mockRestore();
      stderr.mockRestore();
      stdout.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
