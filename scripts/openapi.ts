// Writes the committed contract: openapi.json (the document /openapi.json serves) and the
// TypeScript types generated from it (test/client/schema.d.ts, used by the generated-client
// test). `npm run openapi` after changing a route or a schema; test/api/openapi-contract.test.ts
// fails while either file differs from what the code serves.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generatedTypes, servedDocument } from "../test/support/openapi.ts";

const root = join(import.meta.dir, "..");
const doc = await servedDocument();
writeFileSync(join(root, "openapi.json"), `${JSON.stringify(doc, null, 2)}\n`);
writeFileSync(join(root, "test/client/schema.d.ts"), await generatedTypes(doc));
console.log("wrote openapi.json and test/client/schema.d.ts");
