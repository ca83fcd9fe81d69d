import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@tunnelmux/cli';
import { validateOptions } from '@tunnelmux/core';
import cloudflare from '@tunnelmux/provider-cloudflare';
import ngrok from '@tunnelmux/provider-ngrok';
import { type Copy, DockerfileParser, type Instruction, type JSONInstruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

// No Docker daemon and no cluster here: these check what can be checked without one (see each README).
const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../examples');
const DOCKERFILE = readFileSync(path.join(EXAMPLES, 'container', 'Dockerfile'), 'utf8');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'tmx-examples-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The instructions of each build stage, in order. */
function stages(text: string): Instruction[][] {
  const all: Instruction[][] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') all.push([]);
    all.at(-1)?.push(instruction);
  }
  return all;
}

const args = (instruction: Instruction) => instruction.getArgumentsContent() ?? '';

describe('the container recipe (examples/container/Dockerfile)', () => {
  it('passes the dockerfile-utils validator without a single diagnostic', () => {
    expect(validate(DOCKERFILE)).toEqual([]);
  });

  it('is caught by the validator when broken (the check can fail)', () => {
    const broken = DOCKERFILE.replace('USER node', 'USER').replace('EXPOSE 2222 9464', 'EXPOSE 99999');
    expect(validate(broken).length).toBeGreaterThan(0);
  });

  it('builds in two stages on node:24-slim and runs the final one as a non-root user', () => {
    const parsed = DockerfileParser.parse(DOCKERFILE);
    const froms = parsed.getFROMs();
    expect(froms.map((f) => `${f.getImageName()}:${f.getImageTag()}`)).toEqual([
      'node:24-slim',
      'node:24-slim',
    ]);
    expect(froms[0]?.getBuildStage()).toBe('install');
    const final = stages(DOCKERFILE).at(-1) ?? [];
    const users = final.filter((i) => i.getKeyword() === 'USER').map(args);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0', '0:0', 'root:root']).not.toContain(users.at(-1));
    const copies = final.filter((i) => i.getKeyword() === 'COPY') as Copy[];
    expect(
      copies.some((c) => c.getFlags().some((f) => f.getName() === 'from' && f.getValue() === 'install')),
    ).toBe(true);
    // Nothing fetched by ADD from a URL, and only the install stage talks to npm.
    expect(parsed.getInstructions().filter((i) => i.getKeyword() === 'ADD')).toEqual([]);
    expect(final.some((i) => i.getKeyword() === 'RUN' && /\bnpm\b/.test(args(i)))).toBe(false);
  });

  it('takes PROVIDERS in both stages, and runs up with metrics on the port it exposes, in JSON form', () => {
    for (const stage of stages(DOCKERFILE)) {
      expect(stage.some((i) => i.getKeyword() === 'ARG' && args(i).startsWith('PROVIDERS='))).toBe(true);
    }
    const parsed = DockerfileParser.parse(DOCKERFILE);
    const json = (list: JSONInstruction[]) =>
      list
        .at(-1)
        ?.getJSONStrings()
        .map((s) => s.getJSONValue()) ?? [];
    expect(json(parsed.getENTRYPOINTs())).toEqual(['tunnelmux']);
    const cmd = json(parsed.getCMDs());
    expect(cmd.slice(0, 3)).toEqual(['up', '--config', '/etc/tunnelmux/tunnelmux.yaml']);
    expect(cmd).toContain('--metrics-public');
    const port = cmd[cmd.indexOf('--metrics-listen') + 1]?.split(':').at(-1);
    const exposed = parsed
      .getInstructions()
      .filter((i) => i.getKeyword() === 'EXPOSE')
      .flatMap((i) => args(i).split(/\s+/));
    expect(exposed).toContain(port);
  });

  // The install stage's shell, run for real with a stand-in npm that records what it was asked to install.
  async function installStage(providers: string) {
    const stage = stages(DOCKERFILE)[0] ?? [];
    const script = stage
      .filter((i) => i.getKeyword() === 'RUN')
      .map(args)
      .join('\n');
    const dir = mkdtempSync(path.join(scratch, 'stage-'));
    mkdirSync(path.join(dir, 'bin'));
    writeFileSync(path.join(dir, 'bin', 'npm'), '#!/bin/sh\necho "$@" >> npm-calls.txt\n');
    chmodSync(path.join(dir, 'bin', 'npm'), 0o755);
    const result = await execa('sh', ['-c', script], {
      cwd: dir,
      reject: false,
      timeout: 30_000,
      env: {
        PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`,
        PROVIDERS: providers,
        TUNNELMUX_VERSION: '0.1.0',
      },
      extendEnv: false,
    });
    let calls = '';
    try {
      calls = readFileSync(path.join(dir, 'npm-calls.txt'), 'utf8');
    } catch {
      calls = '';
    }
    return { result, calls };
  }

  it('installs the CLI and exactly the chosen providers, pinned to one version', async () => {
    const { result, calls } = await installStage('ssh,cloudflare');
    expect(result.exitCode, result.stderr).toBe(0);
    const install = calls.split('\n').find((line) => line.startsWith('install '));
    expect(install).toBe(
      'install --omit=dev --no-audit --no-fund @tunnelmux/cli@0.1.0 @tunnelmux/provider-ssh@0.1.0 @tunnelmux/provider-cloudflare@0.1.0',
    );
  });

  it('refuses an unknown provider id before installing anything', async () => {
    const { result, calls } = await installStage('ssh,bogus');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/unknown provider 'bogus' in PROVIDERS/);
    expect(calls).not.toContain('install ');
  });
});

type Doc = { kind: string; metadata: { name: string }; [key: string]: unknown };
type Container = {
  name: string;
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  securityContext?: Record<string, unknown>;
};

describe('the Kubernetes sidecar (examples/kubernetes/tunnelmux-sidecar.yaml)', () => {
  const docs = parseAllDocuments(
    readFileSync(path.join(EXAMPLES, 'kubernetes', 'tunnelmux-sidecar.yaml'), 'utf8'),
  );
  const objects = docs.map((doc) => {
    expect(doc.errors).toEqual([]);
    return doc.toJS() as Doc;
  });
  const byKind = (kind: string) => objects.find((o) => o.kind === kind) as Doc & Record<string, never>;
  const deployment = byKind('Deployment') as unknown as {
    spec: {
      template: {
        metadata: { annotations: Record<string, string> };
        spec: {
          securityContext: Record<string, unknown>;
          containers: Container[];
          volumes: { name: string }[];
        };
      };
    };
  };
  const pod = deployment.spec.template;
  const sidecar = pod.spec.containers.find((c) => c.name === 'tunnelmux') as Container;

  it('holds a ConfigMap, a Secret and a Deployment with the app and tunnelmux side by side', () => {
    expect(objects.map((o) => o.kind)).toEqual(['ConfigMap', 'Secret', 'Deployment']);
    expect(pod.spec.containers.map((c) => c.name)).toEqual(['app', 'tunnelmux']);
  });

  it('has scrape annotations that match the port tunnelmux serves metrics on', () => {
    const metrics = sidecar.ports?.find((p) => p.name === 'metrics')?.containerPort;
    expect(pod.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(metrics),
      'prometheus.io/path': '/metrics',
    });
    const listen = sidecar.args?.[(sidecar.args?.indexOf('--metrics-listen') ?? -2) + 1];
    expect(listen).toBe(`0.0.0.0:${metrics}`);
    expect(sidecar.args).toContain('--metrics-public');
  });

  it('runs tunnelmux unprivileged on a read-only root, with secrets by reference only', () => {
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    expect(sidecar.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(sidecar.securityContext?.runAsUser).not.toBe(0);
    for (const variable of sidecar.env ?? []) {
      expect(variable.value, `${variable.name} is written in the manifest`).toBeUndefined();
      expect(variable.valueFrom?.secretKeyRef?.name).toBe('web-tunnelmux');
    }
  });

  it("embeds a tunnelmux.yaml that the CLI loads and each provider's schema accepts", async () => {
    const configMap = byKind('ConfigMap') as unknown as { data: Record<string, string> };
    const file = path.join(scratch, 'tunnelmux.yaml');
    writeFileSync(file, configMap.data['tunnelmux.yaml'] ?? '');
    const { config } = loadConfig(file);
    expect(config.name).toBe('web');
    expect(config.paths.map((p) => `${p.provider}:${p.mode}`)).toEqual(['cloudflare:expose', 'ngrok:expose']);
    const providers = { cloudflare, ngrok } as const;
    for (const p of config.paths) {
      await validateOptions(providers[p.provider as keyof typeof providers], p.options, {
        pathId: p.id,
        mode: 'expose',
      });
    }
    // Every variable a provider is told to read comes from the container's environment.
    const names = new Set((sidecar.env ?? []).map((e) => e.name));
    for (const p of config.paths) {
      for (const [key, value] of Object.entries(p.options ?? {}))
        if (key.endsWith('Env')) expect(names).toContain(value);
    }
  });
});
