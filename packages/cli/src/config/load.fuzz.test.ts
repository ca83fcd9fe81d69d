import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { configJsonSchema } from './json-schema';
import { ConfigFileError, type LoadedConfig, loadConfigText } from './load';
import { fromJsonSchema, mutated, smallJson } from './schema-arbitrary';

// Property-based fuzzing of the config loader; fast-check prints the seed and the shrunk input of a failure.
// TUNNELMUX_FUZZ_RUNS lowers the runs for `pnpm mutation` only; CI runs the default.
const RUNS = Number(process.env.TUNNELMUX_FUZZ_RUNS ?? 10_000);
// Only a hang is caught: on a loaded two-core machine 10,000 runs may take a minute.
const FUZZ_TIMEOUT = 300_000;

// Built from the schema as it is now, so blocks added to the config are fuzzed too.
const jsonSchema = configJsonSchema();
const validate = new Ajv2020({ strict: false, allErrors: false }).compile(jsonSchema);

type Outcome = { accepted: LoadedConfig } | { refused: ConfigFileError };

/** Load `text`; anything thrown other than a ConfigFileError fails the property. */
function load(text: string, file: string): Outcome {
  try {
    return { accepted: loadConfigText(text, file) };
  } catch (error) {
    if (error instanceof ConfigFileError) return { refused: error };
    throw new Error(`uncaught ${(error as Error)?.name}: ${(error as Error)?.message}`, { cause: error });
  }
}

/** Every refusal names the file, a line and column inside the text, the field (bar syntax errors) and why. */
function expectWellFormed(refusal: ConfigFileError, text: string, file: string) {
  expect(refusal.exitCode).toBe(2);
  expect(refusal.problems.length).toBeGreaterThan(0);
  const lines = text.split(/\r\n|\r|\n/).length;
  for (const problem of refusal.problems) {
    expect(problem.file).toBe(file);
    expect(Number.isInteger(problem.line) && problem.line >= 1 && problem.line <= lines + 1).toBe(true);
    expect(Number.isInteger(problem.col) && problem.col >= 1).toBe(true);
    expect(problem.message.length).toBeGreaterThan(0);
    const wholeFile = /^(is not valid (YAML|JSON)|must be a mapping with)/.test(problem.message);
    if (!wholeFile) expect(problem.field).not.toBe('');
    expect(refusal.message).toContain(`${file}:${problem.line}:${problem.col}: ${problem.field}`);
  }
}

/**
 * Rules the JSON Schema cannot state, so a document it accepts may still be refused for them: path ids unique
 * across paths and expose.via, a target for every path (top-level or the service's), duration text within its
 * bounds ("25h" for 1h), and with `services:`, no single-service field beside it, a merged failover block that is
 * still valid, no service named like the expose one, and `strategy:` agreeing with `failover.strategy`.
 */
function isCrossFieldRule(refusal: ConfigFileError): boolean {
  return refusal.problems.every(
    (problem) =>
      /^must be unique( within the service)?, got /.test(problem.message) ||
      /^is missing: set a (top-level target|target on the service)/.test(problem.message) ||
      /^belongs to one service when services: is used/.test(problem.message) ||
      /^with the top-level defaults merged in, /.test(problem.message) ||
      /^would run as a service named /.test(problem.message) ||
      /^is "\w+" but failover\.strategy says /.test(problem.message) ||
      (typeof problem.value === 'string' &&
        /^must be (at (most|least) \d|a size of at least |a duration from )/.test(problem.message)),
  );
}

const asText = (value: unknown): fc.Arbitrary<{ file: string; text: string }> =>
  fc.oneof(
    fc.constant({ file: 'tunnelmux.json', text: JSON.stringify(value) }),
    fc.constant({ file: 'tunnelmux.json', text: JSON.stringify(value, null, 2) }),
    fc.constant({ file: 'tunnelmux.yaml', text: stringify(value) }),
    fc.constant({ file: 'tunnelmux.yaml', text: stringify(value, { collectionStyle: 'flow' }) }),
  );

/** Fragments YAML and JSON are made of, so that random text reaches the parser's corners. */
const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'listen: ',
        'target: ',
        'paths:\n',
        '  - ',
        'id: ',
        'provider: ',
        'failover:\n  ',
        'interval: ',
        'expose: ',
        'resume: ',
        '{',
        '}',
        '[',
        ']',
        ', ',
        ': ',
        '\n',
        '  ',
        '"',
        "'",
        '&a ',
        '*a',
        '!!str ',
        '!!binary ',
        '<<: ',
        '? ',
        '|',
        '>',
        '#',
        '---\n',
        '...\n',
        '%YAML 1.2\n',
        '\t',
        '\u0000',
        '\ufeff',
      ),
      fc.string({ maxLength: 6 }),
      fc.integer().map(String),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

describe('the config loader, fuzzed', () => {
  it(
    'meets any text with a config or a ConfigFileError naming file:line:col',
    () => {
      fc.assert(
        fc.property(
          fc.oneof(yamlish, fc.string({ unit: 'binary', maxLength: 60 })),
          fc.constantFrom('tunnelmux.yaml', 'tunnelmux.json'),
          (text, file) => {
            const outcome = load(text, file);
            if ('refused' in outcome) expectWellFormed(outcome.refused, text, file);
            else expect(validate(parse(text))).toBe(true);
          },
        ),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'accepts a document only when its JSON Schema does, and refuses others with the field',
    () => {
      fc.assert(
        fc.property(smallJson.chain(asText), ({ text, file }) => {
          const outcome = load(text, file);
          if ('accepted' in outcome) expect(validate(parse(text))).toBe(true);
          else expectWellFormed(outcome.refused, text, file);
        }),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'accepts what the JSON Schema accepts (but for rules it cannot state)',
    () => {
      const valid = fromJsonSchema(jsonSchema).filter((value) => validate(value) === true);
      fc.assert(
        fc.property(valid.chain(asText), ({ text, file }) => {
          const outcome = load(text, file);
          // The data as parsed: the yaml library does not always read back a string it wrote (control chars).
          if ('refused' in outcome && validate(parse(text))) {
            expectWellFormed(outcome.refused, text, file);
            expect(isCrossFieldRule(outcome.refused), outcome.refused.message).toBe(true);
          }
        }),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT,
  );

  it(
    'agrees with the JSON Schema on valid configs mutated at random',
    () => {
      const valid = fromJsonSchema(jsonSchema).filter((value) => validate(value) === true);
      fc.assert(
        fc.property(valid.chain(mutated).chain(asText), ({ text, file }) => {
          const outcome = load(text, file);
          const schemaSays = validate(parse(text));
          if ('accepted' in outcome) expect(schemaSays, text).toBe(true);
          else {
            expectWellFormed(outcome.refused, text, file);
            if (schemaSays) expect(isCrossFieldRule(outcome.refused), outcome.refused.message).toBe(true);
          }
        }),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT,
  );
});
