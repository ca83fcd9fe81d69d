import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BannerServer, startBannerServer } from '@tunnelmux/core/testing';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { eventually, localConfig, type Running, startUp, testdir } from './harness';

const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../examples');
const ALERTS = path.join(EXAMPLES, 'prometheus', 'alerts.yml');
const DASHBOARD = path.join(EXAMPLES, 'grafana', 'tunnelmux.json');

const promtool = (args: string[], input?: string) =>
  execa('promtool', args, { reject: false, timeout: 30_000, ...(input === undefined ? {} : { input }) });

/** The metric names a PromQL text refers to (tunnelmux's own; `up` is Prometheus'). */
function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/\btunnelmux_[a-z0-9_]+/g) ?? [])];
}

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

describe('the fleet files against a live tunnelmux', () => {
  let target: BannerServer;
  let work: ReturnType<typeof testdir>;
  let up: Running;
  let scrape = '';
  let scraped: Set<string>;

  beforeAll(async () => {
    target = await startBannerServer('SSH-2.0-fleet-e2e\r\n');
    work = testdir({ 'tunnelmux.yaml': localConfig(target, ['a', 'b']) });
    up = await startUp(work.dir, work.env, ['--metrics-listen', '127.0.0.1:0']);
    const url = String((up.ready as unknown as { metrics: string }).metrics);
    // Scrape once both paths are up and probed, so every per-path series (latency too) is present.
    const probed = await eventually(async () => {
      scrape = await (await fetch(url)).text();
      return (scrape.match(/^tunnelmux_path_latency_seconds\{/gm) ?? []).length >= 6;
    }, 20_000);
    if (!probed) throw new Error(`the paths were never probed; last scrape:\n${scrape}`);
    scraped = new Set([...scrape.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? ''));
  });

  afterAll(async () => {
    up?.process.kill('SIGTERM');
    await up?.process;
    await target?.close();
    work?.cleanup();
  });

  it('serves a scrape that promtool check metrics accepts, lint included', async () => {
    const result = await promtool(['check', 'metrics'], scrape);
    expect({ code: result.exitCode, out: `${result.stdout}${result.stderr}`.trim() }).toEqual({
      code: 0,
      out: '',
    });
  });

  it('labels series only by what aggregates across instances (no per-process ids)', () => {
    const labels = new Set([...scrape.matchAll(/[{,]([a-z_]+)="/g)].map((m) => m[1]));
    // `service` comes with several services per process; the rest are tunnelmux's own dimensions.
    for (const label of labels)
      expect(['path', 'provider', 'state', 'quantile', 'reason', 'service']).toContain(label);
  });

  it('has alert rules that promtool accepts and whose unit tests pass', async () => {
    const check = await promtool(['check', 'rules', ALERTS]);
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.stdout).toContain('SUCCESS: 4 rules found');
    const tests = await promtool(['test', 'rules', path.join(EXAMPLES, 'prometheus', 'alerts.test.yml')]);
    expect(tests.exitCode, `${tests.stdout}${tests.stderr}`).toBe(0);
  });

  it('alerts only on metrics a live tunnelmux exports', () => {
    const rules = parseYaml(readFileSync(ALERTS, 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const names = rules.groups.flatMap((g) => g.rules.flatMap((r) => metricNames(r.expr)));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(scraped, `alerts.yml queries ${name}`).toContain(name);
  });

  it('has a Grafana dashboard that parses, queries only live metrics, and whose every query is valid PromQL', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      uid: string;
      panels: Panel[];
      templating: { list: { name: string; definition?: string }[] };
    };
    expect(dashboard.uid).toBe('tunnelmux-fleet');
    const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const queried = [
      ...exprs.flatMap(metricNames),
      ...dashboard.templating.list.flatMap((v) => metricNames(v.definition ?? '')),
    ];
    for (const name of new Set(queried)) expect(scraped, `the dashboard queries ${name}`).toContain(name);
    // promtool parses PromQL in recording rules; Grafana's variables become what Grafana would put there.
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: exprs.map((expr, i) => ({
            record: `dashboard:query_${i}`,
            expr: expr
              .replaceAll('$instance', '.*')
              .replaceAll('$__rate_interval', '1m')
              .replaceAll('$__range_s', '86400')
              .replaceAll('$__range', '1d'),
          })),
        },
      ],
    };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tmx-dash-'));
    try {
      const file = path.join(dir, 'dashboard-rules.yml');
      writeFileSync(file, stringify(rules));
      const check = await promtool(['check', 'rules', file]);
      expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
