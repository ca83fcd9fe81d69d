import { execa } from 'execa';
import { ConfigError, describeFieldValue, isSecretField } from '../errors';
import {
  API_VERSION,
  type DetectContext,
  type DetectResult,
  type OptionsSchema,
  PROVIDER_TAG,
  type Provider,
  type ProviderDefinition,
} from './types';

const NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** Check a provider definition and tag it so loaders can recognise it at run time. */
export function defineProvider<Options>(definition: ProviderDefinition<Options>): Provider<Options> {
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
  if (!Array.isArray(definition.modes) || definition.modes.length === 0) {
    throw fail('modes', definition.modes, 'a non-empty list of "access" and/or "expose"');
  }
  for (const mode of definition.modes) {
    if (mode !== 'access' && mode !== 'expose') throw fail('modes', mode, '"access" or "expose"');
  }
  if (!isSchema(definition.options)) {
    throw fail('options', definition.options, 'a Standard Schema such as a zod object');
  }
  if (typeof definition.open !== 'function') throw fail('open', definition.open, 'a function');
  if (definition.detect !== undefined && typeof definition.detect !== 'function') {
    throw fail('detect', definition.detect, 'a function');
  }
  const detect = definition.detect ?? ((ctx: DetectContext) => detectBinary(definition, ctx));
  return Object.freeze({ ...definition, detect, [PROVIDER_TAG]: true as const });
}

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

/** Validate one path's options; errors name the field, the bad value and what was expected. */
export async function validateOptions<Options>(
  provider: Pick<ProviderDefinition<Options>, 'name' | 'options'>,
  options: unknown,
  context: { pathId?: string } = {},
): Promise<Options> {
  const result = await provider.options['~standard'].validate(options ?? {});
  if (!result.issues) return result.value;
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
  return Promise.reject(
    new ConfigError(`${where}${text}`, {
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
    return {
      available: false,
      detail: `${binary.command} not found ${where}`,
      install: binary.install,
    };
  }
  try {
    const result = await execa(found, [...binary.versionArgs], {
      env: ctx.childEnv(),
      extendEnv: false,
      reject: false,
      timeout: 10_000,
      cancelSignal: ctx.signal,
      stdin: 'ignore',
      all: true,
    });
    const output = String(result.all ?? '');
    const version = (binary.parseVersion ?? firstVersion)(output);
    if (result.exitCode !== 0 && !version) {
      return {
        available: false,
        path: found,
        detail: `\`${found} ${binary.versionArgs.join(' ')}\` failed (${result.shortMessage}): ${output.slice(0, 200)}`,
        install: binary.install,
      };
    }
    return { available: true, path: found, version };
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
