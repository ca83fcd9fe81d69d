import fc from 'fast-check';

// Test helper, never bundled: fast-check arbitraries built from the config's JSON Schema as it is at run time,
// so a block added to the zod schema is fuzzed without a change here.

type Schema = Record<string, unknown> | boolean;
type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Small JSON values: what a user might put where the schema says nothing. */
export const smallJson: fc.Arbitrary<JsonValue> = fc.jsonValue({
  maxDepth: 2,
  depthSize: 'xsmall',
}) as fc.Arbitrary<JsonValue>;

/** Values the JSON Schema `schema` describes (nearly always valid; callers check with a validator). */
export function fromJsonSchema(root: Record<string, unknown>): fc.Arbitrary<JsonValue> {
  const defs = (root.$defs ?? {}) as Record<string, Schema>;
  const cache = new Map<Schema, fc.Arbitrary<JsonValue>>();

  const build = (schema: Schema, depth: number): fc.Arbitrary<JsonValue> => {
    if (schema === true) return smallJson;
    if (schema === false) throw new Error('no value matches the schema false');
    const cached = cache.get(schema);
    if (cached) return cached;
    const made = make(schema, depth);
    cache.set(schema, made);
    return made;
  };

  const make = (schema: Record<string, unknown>, depth: number): fc.Arbitrary<JsonValue> => {
    if (typeof schema.$ref === 'string') {
      const name = schema.$ref.replace(/^#\/\$defs\//, '');
      const target = defs[name];
      if (target === undefined) throw new Error(`unsupported $ref ${schema.$ref}`);
      return fc.constant(null).chain(() => build(target, depth + 1));
    }
    if ('const' in schema) return fc.constant(schema.const as JsonValue);
    if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as JsonValue[]));
    for (const key of ['anyOf', 'oneOf'] as const) {
      const options = schema[key];
      if (Array.isArray(options) && !schema.type && !schema.properties) {
        return fc.oneof(...options.map((option) => build({ ...withoutKey(schema, key), ...option }, depth)));
      }
    }
    const type = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : undefined;
    if (!type) return smallJson;
    return fc.oneof(...type.map((one) => ofType(String(one), schema, depth)));
  };

  const ofType = (type: string, schema: Record<string, unknown>, depth: number): fc.Arbitrary<JsonValue> => {
    switch (type) {
      case 'string': {
        if (typeof schema.pattern === 'string') {
          const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : 80;
          return fc
            .stringMatching(new RegExp(schema.pattern, 'u'))
            .filter((text) => text.length >= Number(schema.minLength ?? 0) && text.length <= maxLength);
        }
        return fc.string({
          minLength: Number(schema.minLength ?? 0),
          maxLength: typeof schema.maxLength === 'number' ? schema.maxLength : 12,
        });
      }
      case 'integer':
      case 'number': {
        const min = bound(schema.minimum, schema.exclusiveMinimum, 1);
        const max = bound(schema.maximum, schema.exclusiveMaximum, -1);
        if (type === 'integer') {
          const lo = Math.ceil(Math.max(min ?? -1e6, Number.MIN_SAFE_INTEGER));
          const hi = Math.floor(Math.min(max ?? 1e6, Number.MAX_SAFE_INTEGER));
          return fc.oneof(fc.integer({ min: lo, max: hi }), fc.constantFrom(lo, hi));
        }
        return fc.double({ min: min ?? -1e6, max: max ?? 1e6, noNaN: true, noDefaultInfinity: true });
      }
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array': {
        const items = schema.items === undefined ? smallJson : build(schema.items as Schema, depth + 1);
        const minLength = Number(schema.minItems ?? 0);
        const maxLength = typeof schema.maxItems === 'number' ? schema.maxItems : Math.max(minLength, 2);
        return fc.array(items, { minLength, maxLength });
      }
      case 'object':
        return objectOf(schema, depth);
      default:
        throw new Error(`unsupported JSON Schema type ${type}`);
    }
  };

  const objectOf = (schema: Record<string, unknown>, depth: number): fc.Arbitrary<JsonValue> => {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const required = new Set((schema.required ?? []) as string[]);
    // A top-level `anyOf: [{ required }]` (paths or expose): require one of them at random.
    const anyRequired = Array.isArray(schema.anyOf)
      ? (schema.anyOf as { required?: string[] }[]).map((option) => option.required ?? [])
      : [[]];
    const known = fc.constantFrom(...anyRequired).chain((extra) => {
      const need = new Set([...required, ...extra].filter((key) => key in properties));
      const optional = Object.keys(properties).filter((key) => !need.has(key));
      // A few optional fields per object keep documents small (and fast) while every field still comes up.
      return fc.subarray(optional, { maxLength: Math.min(3, optional.length) }).chain((picked) => {
        const shape: Record<string, fc.Arbitrary<JsonValue>> = {};
        for (const key of [...need, ...picked]) shape[key] = build(properties[key]!, depth + 1);
        return fc.record(shape);
      });
    });
    const extra = schema.additionalProperties;
    if (extra === undefined || extra === false || Object.keys(properties).length > 0) return known;
    const keys =
      schema.propertyNames && typeof schema.propertyNames === 'object'
        ? (build(schema.propertyNames as Schema, depth + 1) as fc.Arbitrary<string>)
        : fc.string({ maxLength: 8 });
    return fc.dictionary(keys, build(extra as Schema, depth + 1), { maxKeys: 2 });
  };

  return build(root, 0);
}

function withoutKey(schema: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = schema;
  return rest;
}

function bound(inclusive: unknown, exclusive: unknown, step: number): number | undefined {
  if (typeof exclusive === 'number') return exclusive + step;
  return typeof inclusive === 'number' ? inclusive : undefined;
}

/** A random edit of a JSON value: drop, replace or add a key, or replace an item, anywhere in it. */
export function mutated(value: JsonValue): fc.Arbitrary<JsonValue> {
  const spots = locations(value);
  return fc
    .tuple(fc.constantFrom(...spots), fc.nat(3), smallJson, fc.string({ maxLength: 8 }))
    .map(([spot, kind, replacement, key]) => {
      const copy = structuredClone(value);
      const parent = spot.length === 0 ? undefined : at(copy, spot.slice(0, -1));
      const last = spot[spot.length - 1];
      if (kind === 0 && parent !== undefined && last !== undefined) {
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete (parent as Record<string, JsonValue>)[last];
        return copy;
      }
      const here = at(copy, spot);
      if (kind === 1 && here && typeof here === 'object' && !Array.isArray(here)) {
        here[key] = replacement;
        return copy;
      }
      if (parent === undefined || last === undefined) return replacement;
      if (Array.isArray(parent)) parent[Number(last)] = replacement;
      else (parent as Record<string, JsonValue>)[last] = replacement;
      return copy;
    });
}

function locations(value: JsonValue, prefix: (string | number)[] = []): (string | number)[][] {
  const found = [prefix];
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) found.push(...locations(item, [...prefix, index]));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) found.push(...locations(item, [...prefix, key]));
  }
  return found;
}

function at(value: JsonValue, spot: (string | number)[]): JsonValue | undefined {
  let node: JsonValue | undefined = value;
  for (const key of spot) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[Number(key)] : node[String(key)];
  }
  return node;
}
