import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, PATH_STATES, TRANSITIONS } from './transitions';

describe('path state transitions', () => {
  it('allows the written-down transitions only', () => {
    expect(canTransition('disconnected', 'connecting')).toBe(true);
    expect(canTransition('connected', 'reconnecting')).toBe(true);
    expect(canTransition('failed', 'connecting')).toBe(true);
    expect(canTransition('disconnected', 'connected')).toBe(false);
    expect(canTransition('failed', 'connected')).toBe(false);
  });

  it('lets every state reach disconnected, so a stop always ends cleanly', () => {
    for (const state of PATH_STATES) {
      if (state !== 'disconnected') expect(TRANSITIONS[state]).toContain('disconnected');
    }
  });

  it('explains a refused transition', () => {
    expect(() => assertTransition('disconnected', 'connected', 'a')).toThrow(
      '[tunnelmux] path "a" cannot go from disconnected to connected; allowed from disconnected: connecting',
    );
  });
  it('lets a reconnecting path come back, and names the path on a refused transition', () => {
    expect(canTransition('reconnecting', 'connected')).toBe(true);
    expect(canTransition('reconnecting', 'failed')).toBe(true);
    let caught: unknown;
    try {
      assertTransition('failed', 'connected', 'b');
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ pathId: 'b' });
  });
});
