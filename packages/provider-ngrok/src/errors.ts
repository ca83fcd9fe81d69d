// ERR_NGROK codes in words, for messages a user can act on (ngrok-docs errors/err_ngrok_*.mdx).

/** What one ngrok error code means and whether retrying can help. */
export interface NgrokCodeInfo {
  meaning: string;
  /** How to fix it, when tunnelmux knows. */
  fix?: string;
  /** True when retrying cannot help (credentials, plan, config). */
  fatal: boolean;
}

const AUTHTOKEN_FIX =
  'set NGROK_AUTHTOKEN to the authtoken from https://dashboard.ngrok.com/get-started/your-authtoken';
const API_KEY_FIX =
  'check NGROK_API_KEY (an API key from https://dashboard.ngrok.com/api-keys, not the authtoken)';

const CODES: Record<number, NgrokCodeInfo> = {
  105: { meaning: 'the authtoken is malformed', fix: AUTHTOKEN_FIX, fatal: true },
  106: { meaning: 'the authtoken is an old ngrok v1 token', fix: AUTHTOKEN_FIX, fatal: true },
  107: {
    meaning: 'the authtoken is well formed but invalid (reset or revoked)',
    fix: AUTHTOKEN_FIX,
    fatal: true,
  },
  108: {
    meaning: 'the account has reached its limit of simultaneous agent sessions',
    fix: 'stop the other ngrok agent, or run several tunnels from one agent',
    fatal: true,
  },
  120: { meaning: 'this ngrok agent version is no longer supported', fix: 'run `ngrok update`', fatal: true },
  121: {
    meaning: 'this ngrok agent version is too old for the account',
    fix: 'run `ngrok update`',
    fatal: true,
  },
  123: { meaning: "the account's email address is not verified yet", fatal: true },
  200: { meaning: 'the API request carried no Authorization header', fix: API_KEY_FIX, fatal: true },
  201: { meaning: 'the API Authorization header could not be parsed', fix: API_KEY_FIX, fatal: true },
  202: { meaning: 'the API key does not look like an ngrok API key', fix: API_KEY_FIX, fatal: true },
  203: {
    meaning: 'the API key is well formed but invalid (deleted or revoked)',
    fix: API_KEY_FIX,
    fatal: true,
  },
  204: { meaning: 'the account plan does not include the ngrok API', fatal: true },
  206: { meaning: 'the API key is actually a tunnel authtoken', fix: API_KEY_FIX, fatal: true },
  207: { meaning: 'the API key is actually a tunnel credential', fix: API_KEY_FIX, fatal: true },
  208: { meaning: 'the API key is an API key id, not the key itself', fix: API_KEY_FIX, fatal: true },
  217: { meaning: 'the API does not support the requested Ngrok-Version', fatal: true },
  218: { meaning: 'the API request did not say which Ngrok-Version it speaks', fatal: true },
  225: { meaning: 'too many simultaneous API requests', fatal: false },
  226: { meaning: 'the account hit its API rate limit', fatal: false },
  300: { meaning: 'the authtoken credential has been revoked', fix: AUTHTOKEN_FIX, fatal: true },
  302: {
    meaning: 'TCP endpoints need a signed-up account with an authtoken',
    fix: AUTHTOKEN_FIX,
    fatal: true,
  },
  334: { meaning: 'the requested URL is already online in another agent session', fatal: true },
  4018: {
    meaning: 'no authtoken: ngrok requires a verified account and authtoken',
    fix: AUTHTOKEN_FIX,
    fatal: true,
  },
  8012: { meaning: 'the agent could not reach its upstream (the local service refused)', fatal: false },
  8014: { meaning: 'traffic to this endpoint was blocked by ngrok', fatal: true },
};

/** The number in `ERR_NGROK_4018`, or undefined when `text` holds no code. */
export function findNgrokCode(text: string): number | undefined {
  const match = /ERR_NGROK_(\d+)/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** What a code means; unknown codes are treated as fatal, as the reference advises for every ERR_NGROK. */
export function describeNgrokCode(code: number): NgrokCodeInfo {
  return CODES[code] ?? { meaning: 'ngrok rejected the request', fatal: true };
}

/** `https://ngrok.com/docs/errors/err_ngrok_4018`. */
export function ngrokDocsUrl(code: number): string {
  return `https://ngrok.com/docs/errors/err_ngrok_${code}`;
}
