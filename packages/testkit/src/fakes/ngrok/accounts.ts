import { createHash, randomInt } from 'node:crypto';
import { FAKE_PASS_ENV } from '../../paths';

/**
 * The environment variable holding the accounts the fake's ngrok service knows: the SHA-256 of each authtoken
 * (never the token itself, so the registry is no secret however far it travels), separated by spaces,
 * `<hash>:limited` for an account at its agent-session limit. The fake, like the real service,
 * refuses every other token: malformed ones with ERR_NGROK_105, well-formed unknown ones with ERR_NGROK_107.
 */
export const FAKE_NGROK_ACCOUNTS_VAR = 'TUNNELMUX_FAKE_NGROK_ACCOUNTS';

// The shape of a real authtoken: a 27-character base62 id, "_", a base62 secret (as in captured tokens).
const AUTHTOKEN_SHAPE = /^[0-9A-Za-z]{27}_[0-9A-Za-z]{20,64}$/;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const base62 = (length: number) => Array.from({ length }, () => BASE62[randomInt(62)]).join('');

/** A fresh authtoken of the real shape (unknown to the fake until registered with {@link fakeNgrokAccounts}). */
export function fakeNgrokAuthtoken(): string {
  return `2${base62(26)}_${base62(40)}`;
}

/** How the fake service stores an authtoken: as a digest. */
const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/** True when `token` has the shape of a real ngrok authtoken. */
export function isAuthtokenShaped(token: string): boolean {
  return AUTHTOKEN_SHAPE.test(token);
}

/**
 * The environment that registers these authtokens with the fake ngrok service (`limited` ones at their limit),
 * passed through core's minimal child environment to the agent the way a user would pass a variable.
 */
export function fakeNgrokAccounts(
  tokens: readonly string[],
  options: { limited?: readonly string[] } = {},
): NodeJS.ProcessEnv {
  const entries = [
    ...tokens.map(digest),
    ...(options.limited ?? []).map((token) => `${digest(token)}:limited`),
  ];
  return { ...FAKE_PASS_ENV, [FAKE_NGROK_ACCOUNTS_VAR]: entries.join(' ') };
}

/** How the fake ngrok service answers `token` given the registered `accounts`: a refusal code, or undefined. */
export function accountCode(
  token: string | undefined,
  accounts: string | undefined,
): 4018 | 105 | 107 | 108 | undefined {
  if (!token) return 4018;
  if (!isAuthtokenShaped(token)) return 105;
  const state = new Map(
    (accounts ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((entry) => {
        const [known, flag = 'ok'] = entry.split(':');
        return [known, flag] as const;
      }),
  ).get(digest(token));
  if (state === undefined) return 107;
  return state === 'limited' ? 108 : undefined;
}
