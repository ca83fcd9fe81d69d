import { describe, expect, it } from 'vitest';
import provider, { parseNgrokVersion } from './index';
import { recordingContext } from './test-support';

describe('detect', () => {
  // Access mode only dials a TCP address, so a machine without ngrok can still use it.
  it('is available without the ngrok binary, and says so', async () => {
    const ctx = recordingContext({ PATH: '' });
    const result = await provider.detect({ ...ctx, signal: AbortSignal.timeout(5000) });
    expect(result.available).toBe(true);
    expect(result.version).toBeUndefined();
    expect(result.detail).toContain('access mode does not need it');
    expect(result.install).toBe('https://ngrok.com/download');
  });

  it('reads the version line of `ngrok version`', () => {
    expect(parseNgrokVersion('ngrok version 3.39.2\n')).toBe('3.39.2');
    expect(parseNgrokVersion('something else 1.2.3')).toBeUndefined();
  });
});
