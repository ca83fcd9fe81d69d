import type { Faults } from '@tunnelmux/testkit';
import { type Random, seeded } from './random';

/** Every kind of fault the soak injects. */
export const FAULT_KINDS = [
  'crash',
  'blackhole',
  'slow',
  'flap',
  'refuse',
  'hang-at-start',
  'binary-junk',
  'long-lines',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number] | 'reload';

/** Faults that leave a path unable to carry a new connection (slow is over maxLatency: unhealthy by definition). */
export const DEAD_KINDS: readonly FaultKind[] = [
  'crash',
  'blackhole',
  'slow',
  'flap',
  'refuse',
  'hang-at-start',
];

/** One fault on one path (or a reload of one instance), from `at` for `durationMs`, in ms since the start. */
export interface FaultStep {
  at: number;
  durationMs: number;
  kind: FaultKind;
  /** `<instance>/<path>`, or the instance name for a reload. */
  target: string;
  /** Part of a planned outage of every path of the instance at once. */
  outage?: boolean;
}

export interface PlanOptions {
  seed: number;
  durationMs: number;
  /** The paths to fault, as `<instance>/<path>`, grouped by instance. */
  instances: { name: string; paths: string[]; reload?: boolean }[];
  /** Latency injected by `slow`, in ms (over the configured maxLatency). */
  slowLatencyMs: number;
}

export interface Plan {
  seed: number;
  durationMs: number;
  steps: FaultStep[];
}

// No faults in the first and last few seconds: the start and the final checks see a settled system.
const QUIET_START = 8_000;
const QUIET_END = 12_000;

/** The fault plan of a run: a pure function of the seed, the length and the instances. */
export function makePlan(options: PlanOptions): Plan {
  const random = seeded(options.seed);
  const steps: FaultStep[] = [];
  const last = options.durationMs - QUIET_END;
  for (const instance of options.instances) {
    for (const target of instance.paths) {
      // Each path is faulted about a third of the time: gaps of 5-40 s, faults of 2-20 s.
      let at = QUIET_START + random.int(0, 10_000);
      while (at < last) {
        const durationMs = Math.min(random.int(2_000, 20_000), last - at);
        if (durationMs >= 1_000) steps.push({ at, durationMs, kind: random.pick(FAULT_KINDS), target });
        at += durationMs + random.int(5_000, 40_000);
      }
    }
    // Every path down at once for 4-12 s: about every 5 minutes, and at least once in any run.
    const outages = Math.max(1, Math.round(options.durationMs / 300_000));
    for (let n = 0; n < outages; n++) {
      const span = (last - QUIET_START) / outages;
      const at = Math.round(QUIET_START + span * n + span * (0.3 + 0.4 * random.next()));
      const durationMs = random.int(4_000, 12_000);
      for (const target of instance.paths) {
        steps.push({ at, durationMs, kind: pickDead(random), target, outage: true });
      }
    }
    if (instance.reload) {
      for (let at = QUIET_START + random.int(20_000, 60_000); at < last; at += random.int(60_000, 180_000)) {
        steps.push({ at, durationMs: 0, kind: 'reload', target: instance.name });
      }
    }
  }
  steps.sort((a, b) => a.at - b.at || a.target.localeCompare(b.target));
  return { seed: options.seed, durationMs: options.durationMs, steps };
}

function pickDead(random: Random): FaultKind {
  return random.pick(DEAD_KINDS.filter((kind) => kind !== 'slow'));
}

/** The fault file contents for a path given the steps active on it; the worst fault wins, noise adds on. */
export function faultsFor(active: readonly FaultStep[], slowLatencyMs: number): Faults {
  const kinds = new Set(active.map((step) => step.kind));
  const faults: Faults = {};
  if (kinds.has('hang-at-start')) {
    // The running tool dies; every restart then hangs before ready until the fault is cleared.
    faults.mode = 'crash';
    faults.startup = 'hang';
  } else if (kinds.has('crash')) faults.mode = 'crash';
  else if (kinds.has('refuse')) faults.mode = 'refuse';
  else if (kinds.has('blackhole')) faults.mode = 'blackhole';
  else if (kinds.has('flap')) {
    faults.mode = 'flap';
    faults.flapMs = 700;
  } else if (kinds.has('slow')) {
    faults.mode = 'slow';
    faults.latencyMs = slowLatencyMs;
  }
  if (kinds.has('long-lines')) faults.noise = 'long-lines';
  else if (kinds.has('binary-junk')) faults.noise = 'binary';
  return faults;
}

/** Faults injected, by kind (outage steps included). */
export function countByKind(steps: readonly FaultStep[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const step of steps) counts[step.kind] = (counts[step.kind] ?? 0) + 1;
  return counts;
}
