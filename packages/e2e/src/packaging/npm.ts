// The packaging test installs dependencies from the npm registry: find out within seconds whether npm can reach
// and trust it, and say why not, instead of letting every install spend minutes in npm's retries.
import { type RunResult, run, runOk } from './run';

/** npm flags that turn a network fault into a quick failure rather than minutes of retries. */
export const NPM_FAIL_FAST = [
  '--fetch-retries=1',
  '--fetch-retry-mintimeout=1000',
  '--fetch-retry-maxtimeout=3000',
];

const CERT_CODES =
  /\b(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT(?:_LOCALLY)?|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_HAS_EXPIRED|DEPTH_ZERO_SELF_SIGNED_CERT|ERR_TLS_CERT_ALTNAME_INVALID|CERT_UNTRUSTED)\b/;
const DNS_CODES = /\b(ENOTFOUND|EAI_AGAIN)\b/;
const CONNECT_CODES = /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|ENETUNREACH|EHOSTUNREACH)\b/;
const HTTP_CODE = /\bE([45]\d\d)\b/;

/** npm's own error lines (the `npm error …` ones), quoted as npm printed them, at most `max` lines. */
export function npmErrorLines(output: string, max = 8): string {
  const lines = output
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => /^npm (?:error|ERR!)/.test(line));
  return (lines.length > 0 ? lines : output.trim().split('\n').slice(-max)).slice(0, max).join('\n');
}

/** What to check, in words, for the failure npm printed; undefined when it is not a registry problem. */
export function explainRegistryFailure(
  output: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const cert = CERT_CODES.exec(output);
  if (cert) {
    const ca = env.NODE_EXTRA_CA_CERTS
      ? `NODE_EXTRA_CA_CERTS is ${env.NODE_EXTRA_CA_CERTS}: check that this file holds the CA that signs the registry's chain`
      : 'NODE_EXTRA_CA_CERTS is not set in the environment of this test';
    return (
      `npm cannot verify the registry's TLS certificate (${cert[1]}). ${ca}. If it is set in your shell but not ` +
      'here, something stripped the environment on the way (turbo passes it through globalPassThroughEnv in turbo.json; ' +
      'a wrapper such as `env -i` would drop it).'
    );
  }
  const dns = DNS_CODES.exec(output);
  if (dns)
    return `npm cannot resolve the registry's host name (${dns[1]}): check the network, DNS, and HTTPS_PROXY/NO_PROXY.`;
  const connect = CONNECT_CODES.exec(output);
  if (connect)
    return `npm cannot connect to the registry (${connect[1]}): check the network and the HTTPS_PROXY/NO_PROXY variables.`;
  const http = HTTP_CODE.exec(output);
  if (http)
    return `the registry answered HTTP ${http[1]}: check \`npm config get registry\`, its credentials in .npmrc, and whether the registry is up.`;
  return undefined;
}

let checked: Promise<void> | undefined;

/**
 * Resolves when npm can reach and trust the registry; rejects within `timeoutMs` with npm's error and what to
 * check. Runs once per test file however many scenarios await it.
 */
export function registryReachable(cwd: string, timeoutMs = 25_000): Promise<void> {
  checked ??= (async () => {
    const result = await run('npm', ['ping', '--fetch-retries=0', `--fetch-timeout=${timeoutMs - 5000}`], {
      cwd,
      timeoutMs,
    });
    if (result.code === 0) return;
    const output = `${result.stderr}\n${result.stdout}`;
    const why =
      result.code === null
        ? `\`npm ping\` did not answer within ${timeoutMs} ms: check the network and the HTTPS_PROXY/NO_PROXY variables.`
        : (explainRegistryFailure(output) ?? `\`npm ping\` exited ${result.code}.`);
    throw new Error(
      `[tunnelmux] packaging test: npm cannot use the registry. ${why}\n--- npm said\n${npmErrorLines(output)}`,
    );
  })();
  return checked;
}

/** npm with the flags a quiet, cache-friendly install wants; a registry failure fails fast and says what to check. */
export async function npm(args: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  await registryReachable(cwd);
  try {
    return await runOk(
      'npm',
      [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...NPM_FAIL_FAST],
      { cwd, env, timeoutMs: 150_000 },
    );
  } catch (error) {
    const why = explainRegistryFailure(String((error as Error).message));
    if (!why) throw error;
    throw new Error(`[tunnelmux] packaging test: ${why}\n${(error as Error).message}`, { cause: error });
  }
}
