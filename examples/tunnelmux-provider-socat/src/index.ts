// tunnelmux-provider-socat: a plain TCP relay path through socat, written against @tunnelmux/core's public API only.
import { defineProvider } from '@tunnelmux/core';
import { openRelay } from './access';
import { socatOptions } from './options';

/**
 * The version from `socat -V`, whose first lines are `socat by Gerhard Rieger and contributors - see
 * www.dest-unreach.org` and `socat version 1.7.4.4 on 06 Nov 2022 08:15:51`; undefined when it is not socat.
 */
export function parseSocatVersion(output: string): string | undefined {
  if (!/^socat by /m.test(output)) return undefined;
  return /^socat version (\d+(?:\.\d+){1,3})\b/m.exec(output)?.[1];
}

const socat = defineProvider({
  apiVersion: 1,
  name: 'socat',
  summary: 'A direct TCP relay through socat (a path that needs no tunnel service)',
  binary: {
    command: 'socat',
    versionArgs: ['-V'],
    install:
      'install socat: `apt-get install socat` (Debian/Ubuntu), `dnf install socat`, `brew install socat`, http://www.dest-unreach.org/socat/',
    parseVersion: parseSocatVersion,
  },
  access: { options: socatOptions, open: openRelay },
});

export default socat;
export { socatArgs } from './access';
export { type SocatOptions, type SocatOptionsInput, socatOptions } from './options';
export { socat };
