import { fakeEnv } from '@tunnelmux/testkit/fakes';
import { describe, expect, it } from 'vitest';
import cloudflare, { INSTALL_URL, parseVersion } from './index';
import { openHarness } from './test-support';

describe('parseVersion', () => {
  it('reads the current format', () => {
    expect(parseVersion('cloudflared version 2025.11.1 (built 2025-11-07T16:30 UTC)\n')).toEqual({
      version: '2025.11.1',
      built: '2025-11-07T16:30 UTC',
      fips: false,
    });
  });

  it('reads the older build stamp and FIPS builds', () => {
    expect(parseVersion('cloudflared version 2024.1.5 (built 2024-01-22-1234 UTC)')).toMatchObject({
      version: '2024.1.5',
      built: '2024-01-22-1234 UTC',
    });
    expect(parseVersion('cloudflared version 2025.11.1 (built 2025-11-07T16:30 UTC with FIPS)')).toEqual({
      version: '2025.11.1',
      built: '2025-11-07T16:30 UTC',
      fips: true,
    });
  });

  it('reads `version --short` and rejects other text', () => {
    expect(parseVersion('2025.11.1\n')).toEqual({ version: '2025.11.1', fips: false });
    expect(parseVersion('command not found')).toBe(undefined);
  });
});

// Detect with core's own helpers (borrowed from a manager), as `tunnelmux providers` and `doctor` run it.
async function detectWith(env: NodeJS.ProcessEnv, bin?: string) {
  const harness = await openHarness(env, { host: '127.0.0.1', port: 9 });
  try {
    return await cloudflare.detect({ ...harness.ctx, signal: AbortSignal.timeout(15_000), bin });
  } finally {
    await harness.close();
  }
}

describe('detect', () => {
  it('finds the fake on PATH and reports version and build', async () => {
    const result = await detectWith(fakeEnv());
    expect(result).toMatchObject({
      available: true,
      version: '2025.11.1',
      detail: 'built 2025-11-07T16:30 UTC',
    });
    expect(result.path).toMatch(/cloudflared$/);
  });

  it('says how to install when cloudflared is missing', async () => {
    const result = await detectWith({ ...process.env, PATH: '/nonexistent' });
    expect(result).toMatchObject({ available: false, install: INSTALL_URL });
    expect(result.detail).toContain('not found on PATH');
  });

  it('reports a bad bin', async () => {
    const result = await detectWith(fakeEnv(), '/nonexistent/cloudflared');
    expect(result).toMatchObject({ available: false, install: INSTALL_URL });
    expect(result.detail).toContain('/nonexistent/cloudflared');
  });
});
