/** Checks rcopy's --json outputs against the JSON Schemas published in schemas/ (ajv). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { ROOT } from '../helpers.js';

// times in JSON are ISO 8601 as Date.prototype.toISOString writes them
const ajv = new Ajv({
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
  allErrors: true,
  formats: { 'date-time': (s: string) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s },
});

const compiled = new Map<string, ReturnType<typeof ajv.compile>>();

/** Asserts that `value` matches schemas/NAME.schema.json. */
export function assertSchema(name: string, value: unknown): void {
  let v = compiled.get(name);
  if (!v) {
    v = ajv.compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', `${name}.schema.json`), 'utf8')));
    compiled.set(name, v);
  }
  assert.ok(v(value), `${name}: ${ajv.errorsText(v.errors)}\n${JSON.stringify(value).slice(0, 2000)}`);
}
