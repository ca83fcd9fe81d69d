import Ajv2020 from 'ajv/dist/2020.js';

/** Checks answers against the dashboard's own OpenAPI document, by path, method and status. */
export function openApiChecker(document: Record<string, unknown>) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ ...document, $id: 'openapi.json' });
  const escapePointer = (part: string) => part.replaceAll('~', '~0').replaceAll('/', '~1');
  return {
    /** The validation errors of `body` as the answer to `method path` with `status` ([] when valid). */
    errors(path: string, method: string, status: number, body: unknown): unknown[] {
      const pointer = [
        'paths',
        path,
        method,
        'responses',
        String(status),
        'content',
        'application/json',
        'schema',
      ]
        .map(escapePointer)
        .join('/');
      const validate = ajv.getSchema(`openapi.json#/${pointer}`);
      if (!validate) throw new Error(`the OpenAPI document has no schema for ${method} ${path} ${status}`);
      return validate(body) ? [] : (validate.errors ?? [{ message: 'invalid' }]);
    },
    /** The errors of `body` against a named component schema. */
    component(name: string, body: unknown): unknown[] {
      const validate = ajv.getSchema(`openapi.json#/components/schemas/${escapePointer(name)}`);
      if (!validate) throw new Error(`the OpenAPI document has no component ${name}`);
      return validate(body) ? [] : (validate.errors ?? [{ message: 'invalid' }]);
    },
  };
}
