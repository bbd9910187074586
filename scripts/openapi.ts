// Writes the committed contract: openapi.json (the document /openapi.json serves) and the
// TypeScript types generated from it, console/src/api/schema.d.ts — one file, inside console/
// because the shipped UI's client is built from it, and imported from there by the
// generated-client test. `npm run openapi` after changing a route or a schema;
// test/api/openapi-contract.test.ts fails while either differs from what the code serves.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generatedTypes, servedDocument } from "../test/support/openapi.ts";

const root = join(import.meta.dir, "..");
const doc = await servedDocument();
writeFileSync(join(root, "openapi.json"), `${JSON.stringify(doc, null, 2)}\n`);
const types = await generatedTypes(doc);
writeFileSync(join(root, "console/src/api/schema.d.ts"), types);
console.log("wrote openapi.json and console/src/api/schema.d.ts");
