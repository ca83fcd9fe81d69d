import { execa } from 'execa';
import { ConfigError, describeFieldValue, isSecretField } from '../errors';
import { openWithKit } from './kit';
import { modeOf } from './mode';
import {
  API_VERSION,
  type DetectContext,
  type DetectResult,
  type Mode,
  type ModeDefinition,
  type OptionsSchema,
  PROVIDER_TAG,
  type Provider,
  type ProviderDefinition,
} from './types';

const MODES = ['access', 'expose'] as const;

const NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** Check a provider definition and tag it so loaders can recognise it at run time. */
export function defineProvider<Access = never, Expose = never>(
  definition: ProviderDefinition<Access, Expose>,
): Provider<Access, Expose> {
  const where = definition && typeof definition.name === 'string' ? definition.name : undefined;
  const fail = (field: string, value: unknown, expected: string) =>
    ConfigError.invalid(`provider field "${field}"`, value, expected, { provider: where });
  if (!definition || typeof definition !== 'object') throw fail('definition', definition, 'an object');
  if (definition.apiVersion !== API_VERSION) {
    throw fail(
      'apiVersion',
      definition.apiVersion,
      `${API_VERSION} (this @tunnelmux/core speaks API ${API_VERSION})`,
    );
  }
  if (typeof definition.name !== 'string' || !NAME.test(definition.name)) {
    throw fail('name', definition.name, 'lowercase letters, digits and dashes, starting with a letter');
  }
  if ('modes' in definition || 'open' in definition || 'options' in definition) {
    throw fail(
      'modes',
      'modes/options/open',
      '"access: { options, open }" and/or "expose: { options, open }"',
    );
  }
  const modes = MODES.filter((mode) => definition[mode] !== undefined);
  if (modes.length === 0)
    throw fail('access', undefined, '{ options, open } for at least one of access, expose');
  for (const mode of modes) {
    const spec = definition[mode] as ModeDefinition;
    if (!isSchema(spec.options)) {
      throw fail(`${mode}.options`, spec.options, 'a Standard Schema such as a zod object');
    }
    if (typeof spec.open !== 'function') throw fail(`${mode}.open`, spec.open, 'a function');
  }
  if (definition.detect !== undefined && typeof definition.detect !== 'function') {
    throw fail('detect', definition.detect, 'a function');
  }
  const detect = definition.detect ?? ((ctx: DetectContext) => detectBinary(definition, ctx));
  const provider: Provider<Access, Expose> = Object.freeze({
    ...definition,
    modes,
    detect,
    open: (options: unknown, ctx: Parameters<Provider['open']>[1]) =>
      openWithKit(provider as Provider, options, ctx),
    [PROVIDER_TAG]: true as const,
  });
  return provider;
}

// biome-ignore lint/suspicious/noExplicitAny: any provider, whatever its modes' options.
type AnyProvider = Provider<any, any>;

/** The options of either mode of `P`, as its schemas output them. */
export type OptionsOf<P extends AnyProvider> = ModeOptions<P['access']> | ModeOptions<P['expose']>;
type ModeOptions<M> = NonNullable<M> extends ModeDefinition<infer Options> ? Options : never;

/** True for objects made by `defineProvider`, from any copy of core. */
export function isProvider(value: unknown): value is Provider {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PROVIDER_TAG] === true
  );
}

function isSchema(value: unknown): value is OptionsSchema {
  const standard = (value as { '~standard'?: { validate?: unknown } } | undefined)?.['~standard'];
  return typeof standard?.validate === 'function';
}

/**
 * Validate one path's options against its mode's schema (default: the provider's only mode, else access);
 * errors name the field, the bad value and what was expected, and say when the options fit the other mode.
 */
export async function validateOptions<P extends AnyProvider, Options = OptionsOf<P>>(
  provider: P,
  options: unknown,
  context: { pathId?: string; mode?: Mode } = {},
): Promise<Options> {
  const mode = context.mode ?? (provider.modes.length === 1 ? provider.modes[0]! : 'access');
  const schema = modeOf(provider, mode, context.pathId).options;
  const result = await schema['~standard'].validate(options ?? {});
  if (!result.issues) return result.value as Options;
  const where = context.pathId ? `path "${context.pathId}": ` : '';
  const details = result.issues.map((issue) => {
    const keys = (issue.path ?? []).map((segment) =>
      typeof segment === 'object' && segment !== null ? segment.key : segment,
    );
    const field = keys.length > 0 ? keys.map(String).join('.') : '(options)';
    const value = keys.reduce<unknown>(
      (node, key) =>
        node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined,
      options,
    );
    return { field, value, message: issue.message };
  });
  const first = details[0]!;
  const text = details
    // A whole-object issue (unknown keys) names the keys in its message; echoing the object could leak a secret.
    .map((detail) =>
      detail.field === '(options)'
        ? `options: ${detail.message}`
        : `option "${detail.field}": ${detail.message}, got ${describeFieldValue(detail.field, detail.value)}`,
    )
    .join('; ');
  const other = mode === 'access' ? 'expose' : 'access';
  const otherSchema = (provider[other] as ModeDefinition | undefined)?.options;
  const fitsOther = otherSchema && !(await otherSchema['~standard'].validate(options ?? {})).issues;
  const hint = fitsOther ? `; these options are for ${other} paths: set \`mode: ${other}\` on the path` : '';
  return Promise.reject(
    new ConfigError(`${where}${text}${hint}`, {
      provider: provider.name,
      pathId: context.pathId,
      field: first.field,
      value: isSecretField(first.field) ? undefined : first.value,
    }),
  );
}

/** The default `detect`: find the binary and parse its version output. */
async function detectBinary(
  definition: Pick<ProviderDefinition, 'binary'>,
  ctx: DetectContext,
): Promise<DetectResult> {
  const binary = definition.binary;
  if (!binary) return { available: true, detail: 'needs no external tool' };
  const found = await ctx.which(binary.command, ctx.bin);
  if (!found) {
    const where = ctx.bin ? `at ${ctx.bin}` : `on PATH`;
    const optional = binary.optional ? `; ${binary.optional}` : '';
    return {
      available: binary.optional !== undefined,
      detail: `${binary.command} not found ${where}${optional}`,
      install: binary.install,
    };
  }
  try {
    const result = await execa(found, [...binary.versionArgs], {
      env: ctx.childEnv(binary.env),
      extendEnv: false,
      reject: false,
      timeout: 10_000,
      cancelSignal: ctx.signal,
      stdin: 'ignore',
      all: true,
    });
    const output = String(result.all ?? '');
    const parsed = (binary.parseVersion ?? firstVersion)(output);
    const { version, detail } =
      typeof parsed === 'string' ? { version: parsed, detail: undefined } : (parsed ?? {});
    if (!version) {
      // A tool that does not answer its version the way the real one does is reported, not trusted.
      const how = result.exitCode === 0 ? '' : ` (${result.shortMessage})`;
      return {
        available: false,
        path: found,
        detail: `\`${found} ${binary.versionArgs.join(' ')}\` did not print a ${binary.command} version${how}, got ${JSON.stringify(output.slice(0, 200))}`,
        install: binary.install,
      };
    }
    return { available: true, path: found, version, ...(detail ? { detail } : {}) };
  } catch (error) {
    return {
      available: false,
      path: found,
      detail: `could not run ${found}: ${String(error)}`,
      install: binary.install,
    };
  }
}

function firstVersion(output: string): string | undefined {
  return /\d+\.\d+(?:\.\d+)?(?:[-+][\w.]+)?/.exec(output)?.[0];
}
