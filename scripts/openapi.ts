// Writes the committed contract: openapi.json (the document /openapi.json serves) and the
// TypeScript types generated from it (test/client/schema.d.ts, used by the generated-client
// test, and the same in console/src/api/schema.d.ts for the console's client). `npm run openapi`
// after changing a route or a schema; test/api/openapi-contract.test.ts fails while the first
// two differ from what the code serves, test/console/console-serving.test.ts while the console's
// copy differs from them.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generatedTypes, servedDocument } from "../test/support/openapi.ts";

const root = join(import.meta.dir, "..");
const doc = await servedDocument();
writeFileSync(join(root, "openapi.json"), `${JSON.stringify(doc, null, 2)}\n`);
const types = await generatedTypes(doc);
writeFileSync(join(root, "test/client/schema.d.ts"), types);
writeFileSync(join(root, "console/src/api/schema.d.ts"), types);
console.log("wrote openapi.json, test/client/schema.d.ts and console/src/api/schema.d.ts");
