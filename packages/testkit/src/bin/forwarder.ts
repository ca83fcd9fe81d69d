// The local stand-in tunnel: a separate OS process that forwards 127.0.0.1:<free port> to a target and
// follows a fault file while it runs. Usage: node forwarder.js --target HOST:PORT [--faults FILE]
import { parseArgs } from 'node:util';
import { readFaults, watchFaults } from '../forwarder/faults';
import { Forwarder } from '../forwarder/forwarder';
import { startNoise } from '../forwarder/noise';

const { values } = parseArgs({
  options: { target: { type: 'string' }, faults: { type: 'string' } },
  strict: true,
});

const match = /^(.+):(\d+)$/.exec(values.target ?? '');
if (!match) {
  console.error(`error: --target must be HOST:PORT, got ${JSON.stringify(values.target ?? '')}`);
  process.exit(2);
}
const target = { host: match[1]!, port: Number(match[2]) };
const faultFile = values.faults;
const startup = readFaults(faultFile).startup ?? 'ok';

if (startup === 'auth') {
  // Like a tool rejecting its credential: say so, exit 1, never become ready.
  // Like many tools, it echoes the credential it was given: redaction must catch it downstream.
  const secret = process.env.TUNNELMUX_LOCAL_SECRET;
  console.error(
    `error: authentication failed: ${secret ? `credential "${secret}"` : 'the credential'} was rejected (fault: startup auth)`,
  );
  process.exit(1);
}
if (startup === 'crash') {
  console.error('fatal: crashed during startup (fault: startup crash)');
  process.exit(3);
}

const forwarder = new Forwarder({
  listen: { host: '127.0.0.1', port: 0 },
  target,
  onUpstreamError: (error) => console.error(`upstream ${values.target}: ${error.message}`),
});

if (startup === 'hang') {
  // Alive, never ready: keep the event loop busy until someone kills us.
  console.log('starting (fault: startup hang)');
  setInterval(() => undefined, 60_000);
} else {
  const address = await forwarder.start();
  let first = true;
  let noise: { kind: string; stop: () => void } | undefined;
  watchFaults(faultFile, (faults) => {
    const kind = faults.noise ? `${faults.noise}:${faults.floodBytesPerSec ?? ''}` : '';
    if ((noise?.kind ?? '') !== kind) {
      noise?.stop();
      noise = faults.noise
        ? {
            kind,
            stop: startNoise(process.stdout, faults.noise, { floodBytesPerSec: faults.floodBytesPerSec }),
          }
        : undefined;
    }
    if (faults.mode === 'crash') console.error('fatal: crashing now (fault: crash)');
    // Say what changed; a clean start says nothing.
    else if (!first || Object.keys(faults).length > 0) console.log(`faults: ${JSON.stringify(faults)}`);
    first = false;
    forwarder.setFaults(faults);
  });
  // Keep the process alive even though the fault watcher's timer is unref'd.
  setInterval(() => undefined, 60_000);
  console.log(`listening on ${address.host}:${address.port} -> ${target.host}:${target.port}`);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void forwarder.close().finally(() => process.exit(0));
    // A stuck close must not keep us alive past the manager's grace period.
    setTimeout(() => process.exit(0), 500).unref();
  });
}
