import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { testkitRoot } from '../../paths';
import { fakeNgrokAccounts, fakeNgrokAuthtoken } from './accounts';

export interface FakeNgrokAgentOptions {
  /** The local port the agent publishes (`ngrok tcp <port>`). */
  port: number;
  /** Ask for a fixed public address, `tcp://127.0.0.1:<port>` (the reserved-address form of `--url`). */
  url?: string;
  metadata?: string;
  /**
   * `NGROK_AUTHTOKEN` for the agent: by default a fresh token registered with the fake service; a given one is
   * used as is (register it through `TUNNELMUX_FAKE_NGROK_ACCOUNTS` to have it accepted); `null` leaves it unset.
   */
  authtoken?: string | null;
  /** A fault file the agent polls (`TUNNELMUX_FAKE_FAULTS`). */
  faultsFile?: string;
  /** Longest wait for `started tunnel` (default 15 s). */
  timeoutMs?: number;
}

/** A running fake `ngrok tcp` agent, as the far side of an access path. */
export interface FakeNgrokAgent {
  readonly pid: number;
  /** `tcp://127.0.0.1:<port>` from its `started tunnel` record. */
  readonly publicUrl: string;
  readonly publicPort: number;
  /** `127.0.0.1:<port>` of its agent API, from `starting web service`. */
  readonly webAddr: string;
  readonly lines: readonly string[];
  readonly exited: Promise<number | null>;
  /** SIGKILL: the agent dies without a goodbye, like a crashed machine. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

/** Start the fake `ngrok tcp` under this Node and wait for its `started tunnel` record. */
export async function startFakeNgrokAgent(options: FakeNgrokAgentOptions): Promise<FakeNgrokAgent> {
  const args = [path.join(testkitRoot(), 'dist', 'bin', 'ngrok.js'), 'tcp', String(options.port)];
  args.push('--log', 'stdout', '--log-format', 'json');
  if (options.url) args.push('--url', options.url);
  if (options.metadata) args.push('--metadata', options.metadata);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NGROK_AUTHTOKEN;
  if (options.authtoken === undefined) {
    const token = fakeNgrokAuthtoken();
    Object.assign(env, { NGROK_AUTHTOKEN: token }, fakeNgrokAccounts([token]));
  } else if (options.authtoken !== null) env.NGROK_AUTHTOKEN = options.authtoken;
  if (options.faultsFile) env.TUNNELMUX_FAKE_FAULTS = options.faultsFile;
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let webAddr = '';
  const started = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `fake ngrok printed no "started tunnel" within ${options.timeoutMs ?? 15_000} ms: ${lines.join(' | ')}`,
        ),
      );
    }, options.timeoutMs ?? 15_000);
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let index = buffer.indexOf('\n'); index !== -1; index = buffer.indexOf('\n')) {
        const line = buffer.slice(0, index);
        buffer = buffer.slice(index + 1);
        lines.push(line);
        if (lines.length > 200) lines.shift();
        const record = line.startsWith('{') ? (JSON.parse(line) as Record<string, string>) : undefined;
        if (record?.msg === 'starting web service') webAddr = record.addr ?? '';
        if (record?.msg === 'started tunnel' && record.url) {
          clearTimeout(timer);
          resolve(record.url);
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`fake ngrok exited (code ${code}) before "started tunnel": ${lines.join(' | ')}`));
    });
  });
  const publicUrl = await started;
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    pid: child.pid!,
    publicUrl,
    publicPort: Number(/:(\d+)$/.exec(publicUrl)![1]),
    webAddr,
    lines,
    exited,
    kill: () => stopWith('SIGKILL'),
    stop: () => stopWith('SIGTERM'),
  };
}
