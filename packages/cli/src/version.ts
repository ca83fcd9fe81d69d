declare const __TUNNELMUX_CLI_VERSION__: string | undefined;

/** This CLI's version, written in at build time. */
export const VERSION: string =
  typeof __TUNNELMUX_CLI_VERSION__ === 'string' ? __TUNNELMUX_CLI_VERSION__ : '0.0.0-dev';
