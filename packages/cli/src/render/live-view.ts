import type { ManagerStatus, MetricsSnapshot, TunnelmuxEvent } from '@tunnelmux/core';
import { createLogUpdate } from 'log-update';
import { colors } from '../util/output';
import { formatEvent } from './events';
import { serviceHistory, servicesStatusText, statusTable } from './status';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SHOWN_EVENTS = 6;
const HISTORY = 24;

/** What the view reads: a Manager, or every service of an `up` (a status with `services`). */
export interface LiveViewManager {
  events: { on(listener: (event: TunnelmuxEvent) => void): () => void };
  status(): Partial<ManagerStatus> & { services?: (ManagerStatus & { name: string; listen?: string })[] };
  getMetrics(): MetricsSnapshot;
}

/**
 * The terminal view of `up`: paths, state, primary, latency trend, bytes, failovers, recent events. On a terminal
 * whose size is unknown or zero, where a frame cannot be drawn in place, it prints plain lines instead.
 */
export class LiveView {
  private render?: ReturnType<typeof createLogUpdate>;
  private readonly history = new Map<string, (number | undefined)[]>();
  private readonly events: string[] = [];
  private timer?: NodeJS.Timeout;
  private frame = 0;
  private unsubscribe?: () => void;
  private listen?: string;
  private metrics?: string;
  private isReady = false;

  constructor(
    private readonly manager: LiveViewManager,
    private readonly where: { socket: string; name: string },
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {}

  start(): void {
    this.unsubscribe = this.manager.events.on((event) => this.take(event));
    if (!this.sized()) this.out.write(`opening paths; ${this.controlHint()}\n`);
    this.timer = setInterval(() => this.draw(), 250);
    this.draw();
  }

  ready(listen: string | undefined, metrics: string | undefined): void {
    this.listen = listen;
    this.metrics = metrics;
    this.isReady = true;
    if (!this.sized()) this.out.write(`${this.head()}\n${this.table(false)}\n`);
    this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    this.draw();
    this.render?.done();
  }

  // A frame needs rows and columns to be drawn in place; 0×0 or unknown gets plain lines.
  private sized(): boolean {
    return (this.out.columns ?? 0) > 0 && (this.out.rows ?? 0) > 0;
  }

  private take(event: TunnelmuxEvent): void {
    if (event.type === 'probe') {
      // Keyed by service and path: two services may both have a path "ts".
      const key = `${event.service ?? 'default'}/${event.pathId}`;
      const series = this.history.get(key) ?? [];
      series.push(event.ok ? event.latencyMs : undefined);
      if (series.length > HISTORY) series.shift();
      this.history.set(key, series);
      return;
    }
    if (
      event.type === 'metrics' ||
      (event.type === 'log' && event.level !== 'warn' && event.level !== 'error')
    )
      return;
    const line = formatEvent(event);
    if (!this.sized()) this.out.write(`${line}\n`);
    this.events.push(line);
    if (this.events.length > SHOWN_EVENTS) this.events.shift();
  }

  // One table for the single-service form, as always; a titled table per service when there are several.
  private table(withHistory: boolean): string {
    const status = this.manager.status();
    const history = withHistory ? this.history : undefined;
    if (status.services && (status.services.length !== 1 || !status.paths)) {
      return servicesStatusText({ services: status.services }, history);
    }
    const single = (status.paths ? status : status.services?.[0]) as ManagerStatus;
    const name = status.services?.[0]?.name ?? 'default';
    return statusTable(single, history && serviceHistory(history, name));
  }

  private head(): string {
    return (
      `${colors.green('●')} tunnelmux ${colors.bold(this.where.name)}` +
      (this.listen ? `  front door ${colors.bold(this.listen)}` : '') +
      (this.metrics ? `  metrics ${this.metrics}` : '')
    );
  }

  private controlHint(): string {
    return `control: tunnelmux status --socket ${this.where.socket}   Ctrl-C stops every path`;
  }

  private draw(): void {
    if (!this.sized()) {
      // The terminal lost its size: keep the last frame on screen and carry on in plain lines.
      this.render?.done();
      this.render = undefined;
      return;
    }
    this.render ??= createLogUpdate(this.out, { showCursor: false });
    this.frame = (this.frame + 1) % FRAMES.length;
    const status = this.manager.status();
    const metrics = this.manager.getMetrics();
    const paths = status.services?.flatMap((service) => service.paths) ?? status.paths ?? [];
    const opening = paths.some((path) => path.state === 'connecting') || !this.isReady;
    const lines = [
      opening ? `${colors.cyan(FRAMES[this.frame] ?? '')} opening paths…` : this.head(),
      '',
      this.table(true),
      `failovers ${metrics.failovers}  primary changes ${metrics.primaryChanges}  refused ${metrics.refusedConnections}` +
        (metrics.sessions
          ? `  session resumes ${metrics.sessions.resumes}  lost ${Object.values(metrics.sessions.lost).reduce((a, b) => a + b, 0)}`
          : ''),
      '',
      colors.dim('recent events'),
      ...(this.events.length > 0 ? this.events : [colors.dim('  (none yet)')]),
      '',
      colors.dim(this.controlHint()),
    ];
    this.render(lines.join('\n'));
  }
}
