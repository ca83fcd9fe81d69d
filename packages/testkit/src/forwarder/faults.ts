import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** How a stand-in or fake tunnel misbehaves; switchable while it runs. */
export interface Faults {
  /**
   * ok: forward. blackhole: accept, never forward, never answer. refuse: accept and reset at once.
   * slow: forward after `latencyMs`. flap: alternate ok/blackhole every `flapMs`. crash: exit(1) now.
   */
  mode?: 'ok' | 'blackhole' | 'refuse' | 'slow' | 'flap' | 'crash';
  /** Extra delay before the first bytes of each connection, in `slow` mode (default 300). */
  latencyMs?: number;
  /** Half-period of `flap` mode (default 1000). */
  flapMs?: number;
  /** At start: `hang` never becomes ready, `auth` fails like a bad credential, `crash` exits at once. */
  startup?: 'ok' | 'hang' | 'auth' | 'crash';
  /** While set, the tool prints junk on stdout: random bytes, 10 MB lines, or a flood of short lines. */
  noise?: 'binary' | 'long-lines' | 'flood';
  /** Bytes per second of `noise: flood` (default 100 MB/s). */
  floodBytesPerSec?: number;
}

/** Write a fault plan atomically, for a running forwarder to pick up. */
export function writeFaults(file: string, faults: Faults): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(faults));
  renameSync(temp, file);
}

/** Read a fault plan; a missing or half-written file means no faults. */
export function readFaults(file: string | undefined): Faults {
  if (!file) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Faults;
  } catch {
    return {};
  }
}

/** Poll a fault file (cheap, portable, no inotify limits); returns a stop function. */
export function watchFaults(
  file: string | undefined,
  onChange: (faults: Faults) => void,
  everyMs = 50,
): () => void {
  if (!file) return () => undefined;
  let last = '';
  const tick = () => {
    const next = JSON.stringify(readFaults(file));
    if (next !== last) {
      last = next;
      onChange(JSON.parse(next) as Faults);
    }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
