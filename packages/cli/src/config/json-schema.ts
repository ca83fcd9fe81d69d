import { z } from 'zod';
import { configSchema } from './schema';

/** The JSON Schema of `tunnelmux.yaml`, for editor completion; generated from the same zod schema. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  // A config runs paths, an expose section, services, or paths and expose together; zod cannot say "one of these
  // keys" in the schema itself.
  return {
    ...schema,
    anyOf: [{ required: ['paths'] }, { required: ['expose'] }, { required: ['services'] }],
  };
}

/** The schema file's text, as written to `schema/tunnelmux.schema.json`. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
