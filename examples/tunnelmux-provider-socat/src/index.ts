// tunnelmux-provider-socat: a plain TCP relay path through socat, written against @tunnelmux/core's public API only.
import { defineProvider } from '@tunnelmux/core';
import { COMMAND, detect, INSTALL, parseSocatVersion } from './detect';
import { type SocatOptions, socatOptions } from './options';
import { openRelay } from './relay';

const socat = defineProvider<SocatOptions>({
  apiVersion: 1,
  name: 'socat',
  summary: 'A direct TCP relay through socat (a path that needs no tunnel service)',
  modes: ['access'],
  binary: { command: COMMAND, versionArgs: ['-V'], install: INSTALL, parseVersion: parseSocatVersion },
  options: socatOptions,
  detect,
  open: openRelay,
});

export default socat;
export { parseSocatVersion } from './detect';
export { type SocatOptions, type SocatOptionsInput, socatOptions } from './options';
export { socatArgs } from './relay';
export { socat };
