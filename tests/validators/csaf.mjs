// Validates CSAF 2.0 documents with the BSI's csaf-validator-lib: the strict CSAF 2.0
// schema and every mandatory test of the standard (section 6.1), as the BSI's own
// validator service runs them.
//
// Usage: node csaf.mjs FILE...
// Prints each file's errors and warnings; exits 1 when any file is not valid.

import { readFileSync } from 'node:fs';
import validateStrict from '@secvisogram/csaf-validator-lib/validateStrict.js';
import * as mandatory from '@secvisogram/csaf-validator-lib/mandatoryTests.js';
import { csaf_2_0_strict } from '@secvisogram/csaf-validator-lib/schemaTests.js';

const tests = [csaf_2_0_strict, ...Object.values(mandatory)];
let failed = false;
for (const file of process.argv.slice(2)) {
  const document = JSON.parse(readFileSync(file, 'utf8'));
  const result = await validateStrict(tests, document);
  const failing = result.tests.filter((t) => !t.isValid);
  if (!result.isValid) {
    failed = true;
  }
  console.log(`${result.isValid ? 'valid' : 'INVALID'}: ${file} (${tests.length} tests)`);
  for (const t of failing) {
    for (const e of t.errors) {
      console.log(`  ${t.name}: ${e.instancePath} ${e.message}`);
    }
  }
}
process.exit(failed ? 1 : 0);
