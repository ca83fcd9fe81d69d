import type { Duplex } from 'node:stream';
import type { ChildHandle, ChildLine, SpawnOptions } from '../process/child';
import type { TunnelEnd } from './tunnel-end';

export type { TunnelEnd } from './tunnel-end';

/** Which way a path runs: reach a remote target (`access`) or publish a local port (`expose`). */
export type Mode = 'access' | 'expose';

/** A TCP address. */
export interface Target {
  host: string;
  port: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where providers write what their tool said; the manager turns it into `log` events. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A Standard Schema (zod 4, valibot, arktype…) that validates one path's options. */
export interface OptionsSchema<Output = unknown> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: unknown; readonly output: Output } | undefined;
  };
}
type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };

/** A provider-specific health hint; never the only truth. */
export interface CheckResult {
  ok: boolean;
  detail?: string;
  latencyMs?: number;
}

/** An open path, ready to carry traffic. */
export interface Tunnel {
  /** A duplex stream to the target through this path; probes and the front door both use it. */
  dial(signal?: AbortSignal): Promise<Duplex>;
  /** Where `dial` goes, for display (`127.0.0.1:40123`). */
  readonly endpoint: string;
  /**
   * Set only when `dial` is nothing but a TCP connect to this address (`ctx.dialTcp(connectTo, { signal })`),
   * e.g. a tool's local listener. The front door then connects there itself, through callbacks, without a
   * promise and a signal per client; probes still call `dial`. May be a getter, read at each connect.
   */
  readonly connectTo?: Target;
  /** The public address of an expose path, once known. */
  readonly publicUrl?: string;
  /** The tool's process id, when there is one. */
  readonly pid?: number;
  /** An optional provider-specific hint (cloudflared /ready, tailscale ping…). */
  check?(signal: AbortSignal): Promise<CheckResult>;
  /**
   * What the probes use: `dial` (default, end to end) or `check`, for an expose path whose public address
   * cannot be dialled from this machine.
   */
  readonly health?: 'dial' | 'check';
  /** Settles when the path dies by itself, saying why; a tool's `child.done` fills it from the process. */
  readonly done: Promise<TunnelEnd>;
  /** Tear it down: SIGTERM, then SIGKILL after a grace period. Idempotent. */
  close(): Promise<void>;
}

/** What `detect` reports about a provider's tool on this machine. */
export interface DetectResult {
  available: boolean;
  version?: string;
  /** The executable found. */
  path?: string;
  /** Why it is not available, or extra facts. */
  detail?: string;
  /** How to install what is missing. */
  install?: string;
}

/** Helpers every provider gets, so providers share one tested way to run tools and reach ports. */
export interface ProviderHelpers {
  /** tunnelmux's environment, to read this path's secrets from. Children never get it whole (see `childEnv`). */
  env: NodeJS.ProcessEnv;
  /**
   * The minimal environment a child gets: PATH, HOME, locale, proxy and CA variables, `passEnv` (the tool's own
   * variables: names or `PREFIX_*`, never a secret-looking name by pattern), TUNNELMUX_PASS_ENV, then `own`.
   */
  childEnv(passEnv?: readonly string[], own?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Run a tool under execa: bounded output, SIGTERM then SIGKILL, killed with the manager. */
  spawn(command: string, args: readonly string[], options?: SpawnOptions): ChildHandle;
  /** A free TCP port on `host` (default 127.0.0.1). */
  freePort(host?: string): Promise<number>;
  /** Resolve once `host:port` accepts a connection; reject on timeout, abort, or when `until` settles first. */
  waitForPort(
    target: Target,
    options?: { signal?: AbortSignal; timeoutMs?: number; until?: Promise<unknown> },
  ): Promise<void>;
  /** A connected TCP socket. */
  dialTcp(target: Target, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<Duplex>;
  /** Find an executable on PATH (or use `bin` when given); undefined when absent. */
  which(command: string, bin?: string): Promise<string | undefined>;
  /**
   * Run `command args` if tunnelmux dies (even by SIGKILL) before the returned function is called: the undo
   * of a publication that outlives any process, e.g. `tailscale serve --tcp=2222 off`. Call the returned
   * function once the provider has undone it itself. Give `command` as an absolute path; it runs with the minimal
   * child environment plus `env`.
   */
  undoIfOrphaned(command: string, args: readonly string[], env?: Record<string, string>): () => void;
}

export interface DetectContext extends ProviderHelpers {
  signal: AbortSignal;
  /** An explicit executable path from the config (`options.bin`). */
  bin?: string;
}

/** What core hands a provider's `open`: the path, its signal, logging, and the helpers. */
export interface BaseOpenContext extends ProviderHelpers {
  pathId: string;
  mode: Mode;
  /** access: what the far side should reach. expose: the local port to publish. */
  target: Target;
  /** Aborted when the path is stopped or the open times out; the provider must leave no process behind. */
  signal: AbortSignal;
  log: Logger;
  /** Hide a value from every log line, event and error from now on. */
  secret(value: string): void;
  /** Count one failed dial of real traffic against this path (e.g. ssh `channel N: open failed`). */
  reportDialFailure(reason: string): void;
  /** Announce the public address of an expose path once it is known or changes. */
  setPublicUrl(url: string): void;
}

/** A tool line as a log entry; undefined drops the line. */
export type LineParser = (
  line: ChildLine,
) => { level: LogLevel; message: string; fields?: Record<string, unknown> } | undefined;

/** The context of a mode's `open`: the base context plus the kit core binds to this provider and path. */
export interface OpenContext extends BaseOpenContext {
  /**
   * The provider's `binary` (or `bin`, the path's option): its absolute path, or a fatal "not installed: how to
   * install" error. `spawn` already passes the binary's declared `env` variables.
   */
  findBinary(bin?: string): Promise<string>;
  /** Forward each line of `child` to `log` (default: as `info`, stderr as `warn`); returns the unsubscribe. */
  forwardLines(child: ChildHandle, parse?: LineParser): () => void;
  /**
   * A private (0700) folder for this path's secret files, made on first call; core removes it when the tunnel
   * closes or the open fails, and the reaper removes it if tunnelmux dies first.
   */
  tempDir(): Promise<string>;
}

/** The tool a provider drives, for `detect`, `doctor` and `ctx.findBinary`. */
export interface BinarySpec {
  command: string;
  versionArgs: readonly string[];
  /** Where to get it. */
  install: string;
  /** Pull the version (and facts worth showing, such as a build date) out of the version output; default: first x.y.z. */
  parseVersion?: (output: string) => string | { version: string; detail?: string } | undefined;
  /** The tool's own variables passed from tunnelmux's environment to it: names or `PREFIX_*` (never a secret). */
  env?: readonly string[];
  /** Set when some modes work without the tool: why (`access mode does not need it`); detect then says available. */
  optional?: string;
}

/** One mode of a provider: the schema of its options and how to open a path. */
export interface ModeDefinition<Options = unknown> {
  /** A Standard Schema for this mode's options (a zod object, say). */
  options: OptionsSchema<Options>;
  /** Resolve once the path carries traffic (readiness read from the tool, never a sleep). */
  open(options: Options, ctx: OpenContext): Promise<Tunnel>;
}

/** What a provider package's default export is made from; it declares only the modes it has. */
export interface ProviderDefinition<Access = unknown, Expose = unknown> {
  apiVersion: 1;
  /** The id users write in `provider:`. Lowercase letters, digits and dashes. */
  name: string;
  summary: string;
  binary?: BinarySpec;
  /** Defaults to finding `binary` and parsing its version. */
  detect?(ctx: DetectContext): Promise<DetectResult>;
  /** Reach a remote target through this provider. */
  access?: ModeDefinition<Access>;
  /** Publish a local port through this provider. */
  expose?: ModeDefinition<Expose>;
}

/** A definition checked and tagged by `defineProvider`; core dispatches `open` to the path's mode. */
export interface Provider<Access = unknown, Expose = unknown> extends ProviderDefinition<Access, Expose> {
  readonly [PROVIDER_TAG]: true;
  /** The modes the provider declared. */
  readonly modes: readonly Mode[];
  detect(ctx: DetectContext): Promise<DetectResult>;
  /** Open a path in `ctx.mode` with options already validated for that mode. */
  open(options: unknown, ctx: BaseOpenContext): Promise<Tunnel>;
}

/** Shared across copies of core, so a provider built against another copy is still recognised. */
export const PROVIDER_TAG: unique symbol = Symbol.for('tunnelmux.provider');
export const API_VERSION = 1 as const;
