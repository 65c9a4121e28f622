// The page's witness checks (web/witness.mjs) in node, on what the service serves: a checkpoint
// note and its `GET /log/policy`. Prints `{cosigs, quorum}` as JSON, or `{error}` when a
// cosignature does not verify. Run by the witnessed-checkpoint tests of the Rust suite.
// Usage: node web/test/witness-check.mjs NOTE_FILE POLICY_FILE

import { readFileSync } from "node:fs";

import { CheckError } from "../proof.mjs";
import { parsePolicy, checkCosignatures } from "../witness.mjs";

const [note, policy] = process.argv.slice(2).map((f) => readFileSync(f, "utf8"));
try {
  console.log(JSON.stringify(await checkCosignatures(note, await parsePolicy(policy))));
} catch (e) {
  if (!(e instanceof CheckError)) throw e;
  console.log(JSON.stringify({ error: e.message }));
}
