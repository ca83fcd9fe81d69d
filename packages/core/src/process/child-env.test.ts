import { describe, expect, it } from 'vitest';
import { childEnv } from './child-env';

const source = {
  PATH: '/usr/bin',
  HOME: '/home/u',
  LC_ALL: 'C.UTF-8',
  https_proxy: 'http://proxy:3128',
  GITHUB_TOKEN: 'ghp_x',
  CF_SECRET: 'cf',
  NGROK_CONFIG: '/etc/ngrok.yml',
  NGROK_AUTHTOKEN: 'other-path-token',
  NGROK_API_KEY: 'key',
  SSH_AUTH_SOCK: '/run/agent',
};

describe('childEnv', () => {
  it('keeps what every tool needs and drops everything else', () => {
    expect(childEnv(source)).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/u',
      LC_ALL: 'C.UTF-8',
      https_proxy: 'http://proxy:3128',
    });
  });

  it("passes the tool's own variables by pattern, but never a secret-looking one", () => {
    const env = childEnv(source, ['NGROK_*']);
    expect(env.NGROK_CONFIG).toBe('/etc/ngrok.yml');
    expect(env.NGROK_AUTHTOKEN).toBeUndefined();
    expect(env.NGROK_API_KEY).toBeUndefined();
  });

  it('passes an exact name, and the path own variables on top (undefined removes one)', () => {
    const env = childEnv(source, ['SSH_AUTH_SOCK'], { NGROK_AUTHTOKEN: 'mine', HOME: undefined });
    expect(env.SSH_AUTH_SOCK).toBe('/run/agent');
    expect(env.NGROK_AUTHTOKEN).toBe('mine');
    expect(env.HOME).toBeUndefined();
  });

  it('lets the user add variables with TUNNELMUX_PASS_ENV', () => {
    const env = childEnv({ ...source, TUNNELMUX_PASS_ENV: 'CF_SECRET, KRB5*', KRB5CCNAME: '/tmp/krb' });
    expect(env.CF_SECRET).toBe('cf');
    expect(env.KRB5CCNAME).toBe('/tmp/krb');
    expect(env.GITHUB_TOKEN).toBeUndefined();
  });
});
