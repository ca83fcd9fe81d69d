// `cloudflared access tcp --hostname H --url ADDR`: log the listener line, then bind (in that order, like the
// real one), and carry each accepted connection through the fake edge.
import { type Faults, Forwarder, readFaults, watchFaults } from '../../forwarder';
import { flagValue, isSet, type Parsed, UsageError } from './args';
import { startEdge } from './edge';
import {
  CLOUDFLARED_FAULTS_ENV,
  CLOUDFLARED_ROUTES_ENV,
  CLOUDFLARED_SERVICE_TOKEN_ENV,
  type CloudflaredFaults,
  parseRoutes,
  parseServiceToken,
} from './hooks';
import { startJunk } from './junk';
import { parseLevel, ZerologConsole } from './zerolog';

const stderr = (text: string) => process.stderr.write(text);

/** The forwarder's share of a fault plan: `ready503` (a tunnel-side fault) means no edge, so resets. */
export function forwarderFaults(faults: CloudflaredFaults): Faults {
  return { ...faults, mode: faults.mode === 'ready503' ? 'refuse' : faults.mode };
}

/** A Go panic, as a crashing cloudflared prints it; exit status 2. */
export function panic(reason: string): never {
  stderr(
    `panic: ${reason}\n\ngoroutine 1 [running]:\nmain.main()\n\t/cloudflared/cmd/cloudflared/main.go:1 +0x1d\n`,
  );
  process.exit(2);
}

/** `access.parseURL`: add https:// when missing; the Host is what Access routes on. */
function parseHostname(raw: string): { host: string; originURL: string } | undefined {
  const withScheme = /^https?:\/\//.test(raw) ? raw.replace(/^http:/, 'https:') : `https://${raw}`;
  try {
    const url = new URL(withScheme);
    if (!url.hostname) return undefined;
    return { host: url.hostname.toLowerCase(), originURL: `https://${url.host.toLowerCase()}` };
  } catch {
    return undefined;
  }
}

/** `config.ValidateUrl` for the listener: `127.0.0.1:2222`, `localhost:2222` or with an http(s) scheme. */
function parseListener(raw: string): { host: string; port: number } | { error: string } {
  const bare = raw.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(bare) ?? /^([^:]+):(\d+)$/.exec(bare);
  if (!match) return { error: `listen tcp ${bare}: address ${bare}: missing port in address` };
  return { host: match[1]!, port: Number(match[2]) };
}

/** The text Go's net.Listen would put in its error. */
function listenError(error: NodeJS.ErrnoException, address: string): string {
  const reasons: Record<string, string> = {
    EADDRINUSE: 'address already in use',
    EACCES: 'permission denied',
    EADDRNOTAVAIL: 'cannot assign requested address',
  };
  const reason = reasons[error.code ?? ''];
  return reason ? `listen tcp ${address}: bind: ${reason}` : `listen tcp ${address}: ${error.message}`;
}

/** Never resolve, and keep the event loop alive (an unsettled top-level await alone would exit with 13). */
function hang(): Promise<number> {
  setInterval(() => undefined, 1 << 30);
  return new Promise<number>(() => undefined);
}

/** Runs until a signal ends the process; resolves with an exit code only when it fails. */
export async function runAccessTcp(parsed: Parsed, env: NodeJS.ProcessEnv): Promise<number> {
  const log = new ZerologConsole(
    parseLevel(flagValue(parsed, 'log-level', env) ?? flagValue(parsed, 'loglevel', env)),
  );
  const command = parsed.path.join(' ');
  const rawHost = flagValue(parsed, 'hostname', env) ?? '';
  const hostname = rawHost ? parseHostname(rawHost) : undefined;
  if (!hostname) {
    log.error('', {
      error: rawHost
        ? `failed to parse as URL: parse "https://${rawHost}": invalid URL`
        : 'no input provided',
    });
    throw new UsageError('the --hostname flag is required (e.g. --hostname ssh.example.com)', command);
  }
  if (!isSet(parsed, 'url', env) && parsed.positionals.length === 0) {
    stderr('[fake cloudflared] stdin/stdout mode (no --url) is not implemented by this fake; pass --url\n');
    return 1;
  }
  if (parsed.set.has('url') && parsed.positionals.length > 0) {
    const error =
      'Specified origin urls using both --url and argument. Decide which one you want, I can only support one.';
    log.error('Error validating origin URL', { error });
    stderr(`error validating origin URL: ${error}\n`);
    return 1;
  }
  const rawListener = parsed.positionals[0] ?? flagValue(parsed, 'url', env) ?? '';
  const listener = parseListener(rawListener);
  if ('error' in listener) {
    log.error('Error validating origin URL', { error: listener.error });
    stderr(`error validating origin URL: ${listener.error}\n`);
    return 1;
  }
  const address = `${listener.host}:${listener.port}`;

  const faultsFile = env[CLOUDFLARED_FAULTS_ENV];
  let faults = readFaults(faultsFile) as CloudflaredFaults;
  if (faults.startup === 'crash') panic('fake crash at start-up (startup: "crash" in TUNNELMUX_FAKE_FAULTS)');

  log.info('Start Websocket listener', { host: address });
  // The real one logs the line above before it binds; `hang` never gets further, so the line alone is no readiness.
  if (faults.startup === 'hang') return hang();

  const edge = await startEdge({
    hostname: hostname.host,
    originURL: hostname.originURL,
    routes: parseRoutes(env[CLOUDFLARED_ROUTES_ENV]),
    required: parseServiceToken(env[CLOUDFLARED_SERVICE_TOKEN_ENV]),
    token: {
      id: flagValue(parsed, 'service-token-id', env),
      secret: flagValue(parsed, 'service-token-secret', env),
    },
    faults: () => faults,
    log,
    stderr,
  });
  const forwarder = new Forwarder({
    listen: listener,
    target: edge.target,
    faults: forwarderFaults(faults),
    onConnection: () => {
      // The edge refusing the WebSocket dial: logged per connection, the local socket is reset.
      if (faults.mode === 'refuse') {
        log.error('failed to connect to origin', {
          error: `dial tcp ${hostname.host}:443: connect: connection refused`,
          originURL: hostname.originURL,
        });
      }
    },
  });
  try {
    await forwarder.start();
  } catch (error) {
    const text = `failed to start forwarding server: ${listenError(error as NodeJS.ErrnoException, address)}`;
    log.error('Error on Websocket listener', { error: text });
    stderr(`${text}\n`);
    edge.close();
    return 1;
  }
  let junk: (() => void) | undefined;
  watchFaults(faultsFile, (next) => {
    faults = next as CloudflaredFaults;
    if (faults.mode === 'crash') panic('fake crash (mode: "crash" in TUNNELMUX_FAKE_FAULTS)');
    forwarder.setFaults(forwarderFaults(faults));
    if (faults.junk && !junk) junk = startJunk(process.stderr);
    if (!faults.junk && junk) {
      junk();
      junk = undefined;
    }
  });
  return new Promise<number>(() => undefined);
}
