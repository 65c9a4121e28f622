// Witness cosignatures in the browser (SPEC §13): the service's policy (`GET /log/policy`, a
// C2SP tlog-policy file), each cosignature line of a checkpoint matched to a witness of it,
// Ed25519 `cosignature/v1` ones verified with WebCrypto, and the quorum evaluated. ML-DSA-44
// has no WebCrypto implementation: those cosignatures are shown as checked by the CLI only,
// and a quorum that depends on them is said to be undecided here.

import { CheckError, b64decode, sha256 } from "./proof.mjs";

const enc = new TextEncoder();

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A witness vkey: `{name, id, type, key}` (type 4 Ed25519, 6 ML-DSA-44), id checked. */
async function parseWitnessKey(vkey) {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(vkey);
  if (!m) throw new CheckError(`not a witness key: ${vkey}`);
  const raw = b64decode(m[3]);
  const type = raw[0];
  if (type !== 4 && type !== 6) throw new CheckError(`witness key type ${type} is not a cosignature type`);
  if ((type === 4 && raw.length !== 33) || (type === 6 && raw.length !== 1313)) throw new CheckError("a witness key of the wrong length");
  const id = await sha256(new Uint8Array([...enc.encode(m[1]), 10, ...raw]));
  if (hex(id.subarray(0, 4)) !== m[2]) throw new CheckError("a witness key's id does not match its key");
  return { name: m[1], id: m[2], type, key: raw.subarray(1) };
}

/**
 * Reads the policy text the service publishes: `{witnesses: [{label, key}], quorum}` where the
 * quorum is `null` (none) or a tree of `{label, k, members}` / `{witness: index}`.
 */
export async function parsePolicy(text) {
  const witnesses = [];
  const names = new Map();
  let quorum;
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const w = line.split(/[ \t]+/);
    const fail = (why) => new CheckError(`policy line ${i + 1}: ${why}`);
    if (w[0] === "log") continue;
    if (w[0] === "witness") {
      if (w.length < 3) throw fail("expected 'witness <name> <vkey>'");
      names.set(w[1], { witness: witnesses.length });
      witnesses.push({ label: w[1], key: await parseWitnessKey(w[2]) });
    } else if (w[0] === "group") {
      const members = w.slice(3).map((n) => {
        if (!names.has(n)) throw fail(`${n} is not defined earlier`);
        return names.get(n);
      });
      const k = w[2] === "all" ? members.length : w[2] === "any" ? 1 : Number(w[2]);
      if (!members.length || !Number.isInteger(k) || k < 1 || k > members.length) throw fail("bad group");
      names.set(w[1], { label: w[1], k, members });
    } else if (w[0] === "quorum") {
      quorum = w[1] === "none" ? null : names.get(w[1]);
      if (quorum === undefined) throw fail(`quorum ${w[1]} is not defined earlier`);
    } else {
      throw fail(`unknown keyword ${w[0]}`);
    }
  }
  if (quorum === undefined) throw new CheckError("the policy has no quorum line");
  return { witnesses, quorum };
}

/** Three-valued: true, false, or null (depends on cosignatures the browser cannot check). */
function met(node, state) {
  if (node === null) return true;
  if (node.witness !== undefined) return state[node.witness];
  let yes = 0;
  let unknown = 0;
  for (const m of node.members) {
    const v = met(m, state);
    if (v === true) yes++;
    else if (v === null) unknown++;
  }
  if (yes >= node.k) return true;
  if (yes + unknown >= node.k) return null;
  return false;
}

function u64(bytes) {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
}

/**
 * The cosignatures of a checkpoint note (already verified with the log key) against the
 * policy: `{cosigs: [{label, name, kind, time, status}], quorum: true|false|null}`; status is
 * "verified", "ml-dsa" (checked by the CLI only) or "invalid". A cosignature of a known key
 * that fails rejects the note (CheckError), as signed-note asks.
 */
export async function checkCosignatures(note, policy) {
  const split = note.lastIndexOf("\n\n");
  const text = note.slice(0, split + 1);
  const state = policy.witnesses.map(() => false);
  const cosigs = [];
  for (const line of note.slice(split + 2).split("\n").filter((l) => l !== "")) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw new CheckError("a signature line is '\u2014 <name> <base64>'");
    const blob = b64decode(m[2]);
    if (blob.length < 12) continue;
    const id = hex(blob.subarray(0, 4));
    const at = policy.witnesses.findIndex((w) => w.key.name === m[1] && w.key.id === id);
    if (at < 0) continue; // not a witness of the policy (the log's own signature, a stranger)
    const w = policy.witnesses[at];
    const time = u64(blob.subarray(4, 12));
    const entry = { label: w.label, name: w.key.name, kind: w.key.type === 4 ? "Ed25519" : "ML-DSA-44", time: Number(time) };
    if (w.key.type === 6) {
      entry.status = "ml-dsa";
      if (state[at] !== true) state[at] = null;
    } else {
      const msg = enc.encode(`cosignature/v1\ntime ${time}\n${text}`);
      const pub = await crypto.subtle.importKey("raw", w.key.key, { name: "Ed25519" }, false, ["verify"]);
      const ok = blob.length === 76 && (await crypto.subtle.verify({ name: "Ed25519" }, pub, blob.subarray(12), msg));
      if (!ok) throw new CheckError(`the cosignature of ${w.key.name} does not verify`);
      entry.status = "verified";
      state[at] = true;
    }
    cosigs.push(entry);
  }
  return { cosigs, quorum: met(policy.quorum, state) };
}
