// Checking signatures and log proofs in the browser, with WebCrypto's Ed25519 and SHA-2
// (no primitive of our own): OpenSSH SSHSIG (PROTOCOL.sshsig) over a stamp's statement,
// C2SP signed notes (the log's checkpoints) and RFC 6962 inclusion proofs
// (`c2sp.org/tlog-proof@v1`). `scripts/page-check` runs these in node on what the service
// and the Rust CLI produce, and on altered copies that must fail.

import { statementOf } from "./stamp.mjs";

export const STAMP_NAMESPACE = "omninode-stamp-v1";

const subtle = globalThis.crypto?.subtle;
const enc = new TextEncoder();

/** Why a check failed, in words for the page. */
export class CheckError extends Error {}

export function b64decode(text) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new CheckError("not base64");
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function b64encode(bytes, pad = true) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  const s = btoa(bin);
  return pad ? s : s.replace(/=+$/, "");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const u32 = (n) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const sshString = (bytes) => concat(u32(bytes.length), bytes);

// An SSH wire-format reader (RFC 4251 §5).
class Reader {
  constructor(bytes) {
    this.b = bytes;
    this.o = 0;
  }
  u32() {
    if (this.o + 4 > this.b.length) throw new CheckError("truncated SSH signature");
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.o, 4).getUint32(0);
    this.o += 4;
    return v;
  }
  bytes(n) {
    if (this.o + n > this.b.length) throw new CheckError("truncated SSH signature");
    const v = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return v;
  }
  string() {
    return this.bytes(this.u32());
  }
  text() {
    return new TextDecoder().decode(this.string());
  }
}

export async function sha256(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

/** `SHA256:…`, the OpenSSH fingerprint of a public key blob (what `ssh-keygen -l` prints). */
export async function fingerprint(keyBlob) {
  return "SHA256:" + b64encode(await sha256(keyBlob), false);
}

/** The 32-byte Ed25519 key of an `ssh-ed25519` public key blob. */
function ed25519Of(keyBlob) {
  const r = new Reader(keyBlob);
  if (r.text() !== "ssh-ed25519") throw new CheckError("the signing key is not Ed25519");
  const k = r.string();
  if (k.length !== 32 || r.o !== keyBlob.length) throw new CheckError("malformed Ed25519 key");
  return k;
}

async function ed25519Verify(publicKey, signature, message) {
  if (!subtle) throw new CheckError("this browser has no WebCrypto here (the page needs HTTPS or localhost)");
  let key;
  try {
    key = await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch {
    throw new CheckError("this browser's WebCrypto has no Ed25519");
  }
  return subtle.verify({ name: "Ed25519" }, key, signature, message);
}

/** The public key blob of an OpenSSH `ssh-ed25519 AAAA… [comment]` line. */
export function keyBlobOf(openssh) {
  const [alg, b64] = openssh.trim().split(/\s+/);
  if (alg !== "ssh-ed25519" || !b64) throw new CheckError("not an ssh-ed25519 key");
  return b64decode(b64);
}

/**
 * Verifies a stamp's SSHSIG (base64 of the blob) over `statement` as
 * `ssh-keygen -Y verify -n omninode-stamp-v1` does, and that it was made by `keyId`.
 * Returns the signer's key id; throws CheckError saying why not.
 */
export async function verifyStamp(statement, keyId, signatureB64) {
  const blob = b64decode(signatureB64);
  const r = new Reader(blob);
  if (new TextDecoder().decode(r.bytes(6)) !== "SSHSIG") throw new CheckError("not an SSH signature");
  if (r.u32() !== 1) throw new CheckError("unsupported SSH signature version");
  const keyBlob = r.string();
  const namespace = r.text();
  r.string(); // reserved
  const hashAlg = r.text();
  const sigBlob = r.string();
  if (namespace !== STAMP_NAMESPACE) throw new CheckError(`signature is for namespace "${namespace}", not ${STAMP_NAMESPACE}`);
  if (hashAlg !== "sha512") throw new CheckError("signature does not use sha512");
  const pub = ed25519Of(keyBlob);
  const id = await fingerprint(keyBlob);
  if (id !== keyId) throw new CheckError(`signature was made by ${id}, not by the stamp's key ${keyId}`);
  const s = new Reader(sigBlob);
  if (s.text() !== "ssh-ed25519") throw new CheckError("signature is not Ed25519");
  const sig = s.string();
  if (sig.length !== 64) throw new CheckError("malformed Ed25519 signature");
  const digest = new Uint8Array(await subtle.digest("SHA-512", enc.encode(statement)));
  const signed = concat(
    enc.encode("SSHSIG"),
    sshString(enc.encode(STAMP_NAMESPACE)),
    sshString(new Uint8Array(0)),
    sshString(enc.encode("sha512")),
    sshString(digest),
  );
  if (!(await ed25519Verify(pub, sig, signed))) throw new CheckError("signature does not verify over the stamp's statement");
  return id;
}

// ---- the log ------------------------------------------------------------------------------

/** A verifier key in signed-note form: `<name>+<hex id>+<base64 of 0x01 || key>`. */
export async function parseVkey(vkey) {
  // The name holds no "+"; the base64 key may.
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(vkey.trim());
  if (!m) throw new CheckError("not a note verifier key");
  const parts = m.slice(1);
  const raw = b64decode(parts[2]);
  if (raw.length !== 33 || raw[0] !== 1) throw new CheckError("the log key is not Ed25519");
  const name = parts[0];
  const id = await sha256(concat(enc.encode(name), new Uint8Array([10, 1]), raw.subarray(1)));
  const want = Array.from(id.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
  if (want !== parts[1]) throw new CheckError("the log key's id does not match its key");
  return { name, id: parts[1], key: raw.subarray(1) };
}

/** Verifies a checkpoint note with the log key: `{origin, size, root}` or CheckError. */
export async function verifyCheckpoint(note, vkey) {
  if (/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/u.test(note)) throw new CheckError("a note holds no control characters");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new CheckError("a note's text and signatures are separated by a blank line");
  const text = note.slice(0, split + 1);
  let verified = false;
  for (const line of note.slice(split + 2).split("\n").filter((l) => l !== "")) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw new CheckError("a signature line is '\u2014 <name> <base64>'");
    const blob = b64decode(m[2]);
    if (blob.length < 4) throw new CheckError("a signature is too short");
    const id = Array.from(blob.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join("");
    if (m[1] !== vkey.name || id !== vkey.id) continue; // others' signatures are ignored
    if (blob.length !== 68 || !(await ed25519Verify(vkey.key, blob.subarray(4), enc.encode(text)))) {
      throw new CheckError("the log's signature does not verify");
    }
    verified = true;
  }
  if (!verified) throw new CheckError("no signature by the log's key");
  const [origin, size, root] = text.split("\n");
  if (origin !== vkey.name) throw new CheckError(`checkpoint of "${origin}", not of "${vkey.name}"`);
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) throw new CheckError("the tree size is not a decimal");
  const rootBytes = b64decode(root);
  if (rootBytes.length !== 32) throw new CheckError("the root hash is not 32 bytes of base64");
  return { origin, size: Number(size), root: rootBytes };
}

/** Reads a `c2sp.org/tlog-proof@v1` text: `{index, path, checkpoint}`. */
export function parseTlogProof(text) {
  if (!text.startsWith("c2sp.org/tlog-proof@v1\n")) throw new CheckError("not a tlog-proof");
  const rest = text.slice("c2sp.org/tlog-proof@v1\n".length);
  const blank = rest.indexOf("\n\n");
  if (blank < 0) throw new CheckError("no blank line before the checkpoint");
  const lines = rest.slice(0, blank).split("\n");
  if (lines[0]?.startsWith("extra ")) lines.shift();
  const m = /^index (0|[1-9][0-9]*)$/.exec(lines.shift() ?? "");
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new CheckError("expected 'index <decimal>'");
  const path = lines.map((l) => {
    const h = b64decode(l);
    if (h.length !== 32) throw new CheckError("a proof line is not a base64 SHA-256 hash");
    return h;
  });
  if (path.length > 64) throw new CheckError("longer than any tree's proof");
  return { index: Number(m[1]), path, checkpoint: rest.slice(blank + 2) };
}

const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** RFC 9162 §2.1.3.2: does `path` prove `leafHash` at `index` in the tree (`size`, `root`)? */
export async function verifyInclusion(index, size, leafHash, path, root) {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  const node = async (l, rt) => sha256(concat(new Uint8Array([1]), l, rt));
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await node(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/**
 * Checks a stamp's tlog-proof: the checkpoint signed by the log key, and the entry at the
 * proof's index under its root. `{index, size, origin}` or CheckError.
 */
export async function verifyTlogProof(proofText, vkeyText, entry) {
  const proof = parseTlogProof(proofText);
  const cp = await verifyCheckpoint(proof.checkpoint, await parseVkey(vkeyText));
  if (proof.index >= cp.size) throw new CheckError(`index ${proof.index} is beyond the checkpoint's tree of ${cp.size}`);
  const leaf = await sha256(concat(new Uint8Array([0]), enc.encode(entry)));
  if (!(await verifyInclusion(proof.index, cp.size, leaf, proof.path, cp.root))) {
    throw new CheckError("the inclusion proof does not verify");
  }
  return { index: proof.index, size: cp.size, origin: cp.origin, root: b64encode(cp.root) };
}

/**
 * What a stamp says of content whose BLAKE3 is `hash` and size `size`, as `verify` decides
 * it: `{contentOk, signer?, statement?, signatureError?}`. The signature is checked even when
 * the content changed, so the page can say the stamp itself is genuine.
 */
export async function checkStamp(stamp, hash, size) {
  const out = { contentOk: hash === stamp.fileHash && (stamp.fileSize === null || stamp.fileSize === size) };
  if (!stamp.key) return out;
  const statement = statementOf(stamp);
  try {
    if (statement === null) throw new CheckError("the stamp's values cannot be signed (created_at spelling)");
    out.signer = await verifyStamp(statement, stamp.key, stamp.signature);
    out.statement = statement;
  } catch (e) {
    if (!(e instanceof CheckError)) throw e;
    out.signatureError = e.message;
  }
  return out;
}
