import { parse } from 'plist';
import { describe, expect, it } from 'vitest';
import { launchctlHints, launchdPlist, plistPath } from './launchd';

const spec = {
  name: 'devbox',
  node: '/usr/local/bin/node',
  bin: '/opt/tunnel & mux/dist/bin.js',
  config: '/Users/me/tunnels/<dev>.yaml',
  user: true,
};

describe('launchd plists', () => {
  it('goes to LaunchAgents for --user and LaunchDaemons otherwise', () => {
    expect(plistPath(spec, { HOME: '/Users/me' })).toBe(
      '/Users/me/Library/LaunchAgents/dev.tunnelmux.devbox.plist',
    );
    expect(plistPath({ ...spec, user: false })).toBe('/Library/LaunchDaemons/dev.tunnelmux.devbox.plist');
  });

  it('is a well-formed plist that runs up at load and restarts it on failure', () => {
    const xml = launchdPlist(spec, { HOME: '/Users/me' });
    expect(xml).toMatch(
      /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<!DOCTYPE plist PUBLIC "-\/\/Apple\/\/DTD PLIST 1\.0\/\/EN"/,
    );
    // Characters XML reserves are escaped, not passed through.
    expect(xml).toContain('/opt/tunnel &amp; mux/dist/bin.js');
    expect(xml).toContain('&lt;dev&gt;.yaml');
    expect(parse(xml)).toEqual({
      Label: 'dev.tunnelmux.devbox',
      ProgramArguments: [spec.node, spec.bin, 'up', '--config', spec.config],
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 5,
      ProcessType: 'Background',
      WorkingDirectory: '/Users/me/tunnels',
      StandardOutPath: '/Users/me/Library/Logs/tunnelmux-devbox.log',
      StandardErrorPath: '/Users/me/Library/Logs/tunnelmux-devbox.log',
    });
  });

  it('refuses broken XML when parsed (the check can fail)', () => {
    const xml = launchdPlist(spec, { HOME: '/Users/me' }).replace('</dict>', '</dcit>');
    expect(() => parse(xml)).toThrow();
  });

  it('says how to load it', () => {
    expect(launchctlHints(spec, '/x.plist')[0]).toBe('launchctl bootstrap gui/$(id -u) /x.plist');
  });
});
