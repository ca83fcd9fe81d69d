import type { ManagerStatus, MetricsSnapshot, TunnelmuxEvent } from '@tunnelmux/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveView, type LiveViewManager } from './live-view';

// A terminal that records what is written; its size is whatever the test says (0×0 is a real case: a serial
// console, `script` without a size, some CI terminals).
function terminal(columns: number | undefined, rows: number | undefined) {
  const chunks: string[] = [];
  const out = {
    isTTY: true,
    columns,
    rows,
    write: (chunk: string) => {
      chunks.push(String(chunk));
      return true;
    },
    on: () => out,
    off: () => out,
    once: () => out,
    removeListener: () => out,
  };
  return { out: out as unknown as NodeJS.WriteStream, text: () => chunks.join(''), chunks };
}

function manager() {
  const listeners = new Set<(event: TunnelmuxEvent) => void>();
  const status: ManagerStatus = { primary: 'a', autoFailover: true, degraded: false, paths: [] };
  const fake: LiveViewManager = {
    events: {
      on: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    status: () => status,
    getMetrics: () => ({ failovers: 0, primaryChanges: 0, refusedConnections: 0 }) as MetricsSnapshot,
  };
  let seq = 0;
  const emit = (message: string) => {
    for (const listener of listeners)
      listener({ type: 'warning', message, time: Date.UTC(2026, 0, 1, 4, 15, 47), seq: ++seq });
  };
  return { fake, emit };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the live view', () => {
  for (const [what, columns, rows] of [
    ['0×0', 0, 0],
    ['of unknown size', undefined, undefined],
  ] as const) {
    it(`falls back to plain lines on a terminal ${what}`, () => {
      const term = terminal(columns, rows);
      const { fake, emit } = manager();
      const view = new LiveView(fake, { socket: '/run/x.sock', name: 'devbox' }, term.out);
      view.start();
      emit('front door listens on 0.0.0.0:22330');
      view.ready('127.0.0.1:2222', undefined);
      // Six seconds of redraw ticks: the bug wrote a lone hide-cursor sequence on every one of them.
      vi.advanceTimersByTime(6000);
      view.stop();
      const text = term.text();
      expect(text).not.toContain('\u001b');
      expect(text).toContain('04:15:47 warning: front door listens on 0.0.0.0:22330\n');
      expect(text).toMatch(/tunnelmux devbox {2}front door 127\.0\.0\.1:2222/);
      expect(text).toContain('control: tunnelmux status --socket /run/x.sock');
      expect(term.chunks.length).toBeLessThan(10);
    });
  }

  it('draws in place on a terminal with a size', () => {
    const term = terminal(100, 30);
    const { fake } = manager();
    const view = new LiveView(fake, { socket: '/run/x.sock', name: 'devbox' }, term.out);
    view.start();
    view.ready('127.0.0.1:2222', undefined);
    vi.advanceTimersByTime(1000);
    view.stop();
    expect(term.text()).toContain('\u001b[');
    expect(term.text()).toContain('front door 127.0.0.1:2222');
  });
});
