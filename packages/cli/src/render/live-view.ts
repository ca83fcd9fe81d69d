import type { Manager, TunnelmuxEvent } from '@tunnelmux/core';
import { createLogUpdate } from 'log-update';
import { colors } from '../util/output';
import { describeEvent } from './events';
import { statusTable } from './status';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SHOWN_EVENTS = 6;
const HISTORY = 24;

/** The terminal view of `up`: paths, state, primary, latency trend, bytes, failovers, recent events. */
export class LiveView {
  private readonly render = createLogUpdate(process.stdout, { showCursor: false });
  private readonly history = new Map<string, (number | undefined)[]>();
  private readonly events: string[] = [];
  private timer?: NodeJS.Timeout;
  private frame = 0;
  private unsubscribe?: () => void;
  private listen?: string;
  private metrics?: string;
  private isReady = false;

  constructor(
    private readonly manager: Manager,
    private readonly where: { socket: string; name: string },
  ) {}

  start(): void {
    this.unsubscribe = this.manager.events.on((event) => this.take(event));
    this.timer = setInterval(() => this.draw(), 250);
    this.draw();
  }

  ready(listen: string | undefined, metrics: string | undefined): void {
    this.listen = listen;
    this.metrics = metrics;
    this.isReady = true;
    this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    this.draw();
    this.render.done();
  }

  private take(event: TunnelmuxEvent): void {
    if (event.type === 'probe') {
      const series = this.history.get(event.pathId) ?? [];
      series.push(event.ok ? event.latencyMs : undefined);
      if (series.length > HISTORY) series.shift();
      this.history.set(event.pathId, series);
      return;
    }
    if (
      event.type === 'metrics' ||
      (event.type === 'log' && event.level !== 'warn' && event.level !== 'error')
    )
      return;
    this.events.push(
      `${colors.dim(new Date(event.time).toISOString().slice(11, 19))} ${describeEvent(event)}`,
    );
    if (this.events.length > SHOWN_EVENTS) this.events.shift();
  }

  private draw(): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    const status = this.manager.status();
    const metrics = this.manager.getMetrics();
    const opening = status.paths.some((path) => path.state === 'connecting') || !this.isReady;
    const head = opening
      ? `${colors.cyan(FRAMES[this.frame] ?? '')} opening paths…`
      : `${colors.green('●')} tunnelmux ${colors.bold(this.where.name)}` +
        (this.listen ? `  front door ${colors.bold(this.listen)}` : '') +
        (this.metrics ? `  metrics ${this.metrics}` : '');
    const lines = [
      head,
      '',
      statusTable(status, this.history),
      `failovers ${metrics.failovers}  primary changes ${metrics.primaryChanges}  refused ${metrics.refusedConnections}`,
      '',
      colors.dim('recent events'),
      ...(this.events.length > 0 ? this.events : [colors.dim('  (none yet)')]),
      '',
      colors.dim(`control: tunnelmux status --socket ${this.where.socket}   Ctrl-C stops every path`),
    ];
    this.render(lines.join('\n'));
  }
}
