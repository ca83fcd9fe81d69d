// `pnpm demo`: local stand-in paths, injected faults, live failover, then a summary.
import { runDemo } from './demo';

const scale = Number(process.env.TUNNELMUX_DEMO_SCALE ?? '1');
try {
  await runDemo({ scale: Number.isFinite(scale) && scale > 0 ? scale : 1 });
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
