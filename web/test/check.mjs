// The page's logic against the Rust implementation, in node (run by scripts/page-check):
//   1. blake3.mjs against b3sum (the BLAKE3 team's Rust tool) on random inputs of every
//      shape around the chunk and block sizes, fed whole and in random pieces (aligned and
//      not, small and large);
//   2. stamp.mjs and proof.mjs on stamps the Rust CLI writes (`omninode-bridge stamp`, signed,
//      every head rule, comment syntax, line ending, rich and lightweight, sidecars): the stamp
//      is found, removing it gives back the original bytes, the hash and the signature check;
//   3. the same files with random bytes changed (in the stamp and in the content): the page's
//      verdict must be the one `omninode-bridge verify` prints, file by file.
// Usage: node web/test/check.mjs path/to/omninode-bridge

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";

import { Blake3, blake3Hex } from "../blake3.mjs";
import { locate, parseSidecar } from "../stamp.mjs";
import { checkStamp } from "../proof.mjs";

const bin = process.argv[2];
assert.ok(bin && existsSync(bin), "usage: check.mjs path/to/omninode-bridge");
const dir = mkdtempSync(join(tmpdir(), "page-check-"));

// A repeatable generator, so a failure can be reproduced (the seed is printed).
let seed = Number(process.env.PAGE_CHECK_SEED ?? Date.now() % 1e9);
console.log(`page-check: seed ${seed} (PAGE_CHECK_SEED to repeat)`);
function rand() {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const randInt = (n) => Math.floor(rand() * n);
function randomBytes(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = randInt(256);
  return b;
}

// ---- 1. BLAKE3 ----------------------------------------------------------------------------

function b3sum(paths) {
  const out = execFileSync("b3sum", ["--no-names", ...paths], { maxBuffer: 1 << 26 }).toString().trim().split("\n");
  assert.equal(out.length, paths.length);
  return out;
}

function checkBlake3() {
  const lengths = [0, 1, 2, 3, 4, 63, 64, 65, 127, 128, 1023, 1024, 1025, 2047, 2048, 2049, 3071, 3072, 3073,
    4095, 4096, 4097, 8191, 8192, 8193, 16384, 31744, 65535, 65536, 65537, 65536 * 2 + 1, 1 << 20, (1 << 20) + 1023];
  for (let i = 0; i < 60; i++) lengths.push(randInt(300_000));
  lengths.push(8 * 1024 * 1024 + randInt(5000));
  const inputs = lengths.map((n, i) => {
    const b = randomBytes(n);
    const p = join(dir, `b3-${i}`);
    writeFileSync(p, b);
    return { b, p };
  });
  const want = b3sum(inputs.map((x) => x.p));
  let checked = 0;
  inputs.forEach(({ b }, i) => {
    assert.equal(blake3Hex(b), want[i], `one update, ${b.length} bytes`);
    // Random pieces: small ones, and large ones starting at odd offsets (the unaligned path).
    for (const maxPiece of [3000, 200_000]) {
      const h = new Blake3();
      for (let p = 0; p < b.length; ) {
        const k = Math.min(b.length - p, 1 + randInt(maxPiece));
        h.update(b.subarray(p, p + k));
        p += k;
      }
      assert.equal(h.hex(), want[i], `random pieces up to ${maxPiece}, ${b.length} bytes`);
    }
    checked++;
  });
  assert.equal(blake3Hex("abc"), execFileSync("b3sum", ["--no-names"], { input: "abc" }).toString().trim(), "a string is hashed as UTF-8");
  console.log(`page-check: blake3.mjs equals b3sum on ${checked} inputs (up to ${Math.max(...lengths)} bytes), whole and in random pieces`);
}

// ---- 2. and 3. stamps ---------------------------------------------------------------------

// Originals covering each head rule, comment syntax and line ending.
const ORIGINALS = {
  "plain.txt": "hello\nworld\n",
  "noeol.txt": "no newline at the end",
  "crlf.txt": "one\r\ntwo\r\n",
  "run.sh": "#!/bin/sh\necho hi\n",
  "only-shebang.sh": "#!/bin/sh",
  "bom.py": "\uFEFFprint('x')\n",
  "cookie.py": "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(1)\n",
  "vim.py": "# vim: set ts=4 :\nx = 1\n",
  "Dockerfile": "# syntax=docker/dockerfile:1\n# escape=`\nFROM alpine\n",
  "post.md": "---\ntitle: Hi\n---\n# Heading\n\ntext -- with dashes\n",
  "only-front.md": "---\na: 1\n---",
  "page.html": "<!doctype html>\n<p>hi</p>\n",
  "feed.xml": "<?xml version=\"1.0\"?>\n<feed/>\n",
  "style.css": "body { color: red; } /* note */\n",
  "query.sql": "SELECT 1;\n",
  "main.rs": "fn main() {}\n",
  "app.js": "console.log('x');\r\n",
  "empty-ish.yaml": "\n",
  "data.json": "{\"a\": [1, 2, 3]}",
  "image.png": null, // binary: random bytes after a PNG signature
  "utf8.txt": "héllo wörld ✓ 🎉\n",
};

function cli(args, opts = {}) {
  return spawnSync(bin, args, { encoding: "utf8", ...opts });
}

// What the CLI says of one file: its reason word (VALID, HASH_MISMATCH, …).
function cliReason(path) {
  const r = cli(["verify", path]);
  const line = (r.stdout + r.stderr).split("\n").find((l) => l.startsWith(`${path}: `));
  assert.ok(line, `verify printed no verdict for ${path}: ${r.stdout}${r.stderr}`);
  return line.slice(path.length + 2).split(" ")[0];
}

// What the page says of the same bytes (and sidecar text, if any).
async function pageReason(bytes, sidecarText) {
  let loc;
  let start = 0;
  let end = 0;
  if (sidecarText !== null) {
    const p = parseSidecar(sidecarText);
    if (p.error) return p.error === "none" ? "NO_STAMP" : p.error === "unsupported" ? "UNSUPPORTED_VERSION" : "MALFORMED_STAMP";
    loc = { kind: "found", stamp: p };
  } else {
    loc = locate(bytes);
    if (loc.kind === "none" || loc.kind === "legacy") return loc.kind === "none" ? "NO_STAMP" : "LEGACY";
    if (loc.kind === "malformed") return "MALFORMED_STAMP";
    if (loc.kind === "unsupported") return "UNSUPPORTED_VERSION";
    ({ start, end } = loc);
  }
  const h = new Blake3().update(bytes.subarray(0, start)).update(bytes.subarray(end)).hex();
  const c = await checkStamp(loc.stamp, h, bytes.length - (end - start));
  return !c.contentOk ? "HASH_MISMATCH" : c.signatureError ? "SIGNATURE_INVALID" : "VALID";
}

async function checkStamps() {
  const keys = join(dir, "keys");
  assert.equal(cli(["keys", "generate", keys]).status, 0);
  const key = join(keys, "stamp_ed25519");
  const cases = [];
  for (const kind of ["rich", "lightweight"]) {
    const d = join(dir, kind);
    mkdirSync(d);
    for (const [name, text] of Object.entries(ORIGINALS)) {
      const original = text === null ? new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...randomBytes(3000)]) : new TextEncoder().encode(text);
      const path = join(d, name);
      writeFileSync(path, original);
      const r = cli(["stamp", "-n", "pagecheck", "--type", kind, "--key", key, "--in-place", path]);
      assert.equal(r.status, 0, `stamp ${path}: ${r.stderr}`);
      cases.push({ kind, name, path, original });
    }
  }
  let found = 0;
  for (const c of cases) {
    const bytes = new Uint8Array(readFileSync(c.path));
    const sidecarPath = `${c.path}.onex-stamp`;
    const sidecar = existsSync(sidecarPath) ? readFileSync(sidecarPath, "utf8") : null;
    if (sidecar === null) {
      const loc = locate(bytes);
      assert.equal(loc.kind, "found", `${c.kind} ${c.name}: ${JSON.stringify(loc)}`);
      const rest = new Uint8Array([...bytes.subarray(0, loc.start), ...bytes.subarray(loc.end)]);
      assert.deepEqual(rest, c.original, `${c.kind} ${c.name}: removing the stamp gives back the original`);
      assert.equal(loc.stamp.fileHash, blake3Hex(c.original));
    } else {
      assert.deepEqual(bytes, c.original, `${c.name}: a sidecar leaves the file alone`);
      assert.ok(!parseSidecar(sidecar).error, `${c.name}: ${JSON.stringify(parseSidecar(sidecar))}`);
    }
    assert.equal(await pageReason(bytes, sidecar), "VALID", `${c.kind} ${c.name}`);
    assert.equal(cliReason(c.path), "VALID", `${c.kind} ${c.name} (CLI)`);
    c.bytes = bytes;
    c.sidecar = sidecar;
    found++;
  }
  console.log(`page-check: ${found} stamps written by the CLI are found, removed exactly and verified by the page`);

  // Tampering: one to three random bytes changed, in the stamp's lines or in the content
  // (or in the sidecar), and the verdicts compared with the CLI's.
  const verdicts = {};
  let compared = 0;
  const scratch = join(dir, "tampered");
  mkdirSync(scratch);
  for (let round = 0; round < 12; round++) {
    for (const c of cases) {
      const target = c.sidecar !== null && rand() < 0.7 ? "sidecar" : "file";
      const src = target === "sidecar" ? new TextEncoder().encode(c.sidecar) : c.bytes;
      const changed = Uint8Array.from(src);
      const n = 1 + randInt(3);
      for (let k = 0; k < n && changed.length > 0; k++) {
        // Mostly inside the first 1 KiB (where the stamp is), sometimes anywhere.
        const at = rand() < 0.8 ? randInt(Math.min(changed.length, 1024)) : randInt(changed.length);
        changed[at] = rand() < 0.5 ? randInt(256) : changed[at] ^ (1 << randInt(7));
      }
      const path = join(scratch, c.name);
      rmSync(path, { force: true });
      rmSync(`${path}.onex-stamp`, { force: true });
      writeFileSync(path, target === "file" ? changed : c.bytes);
      let sidecarText = null;
      if (c.sidecar !== null) {
        const sc = target === "sidecar" ? changed : new TextEncoder().encode(c.sidecar);
        writeFileSync(`${path}.onex-stamp`, sc);
        sidecarText = new TextDecoder().decode(sc);
        // The CLI reads the sidecar as UTF-8; a byte change that breaks UTF-8 is a case of its own.
        if (sidecarText.includes("\uFFFD")) continue;
      }
      const mine = await pageReason(target === "file" ? changed : c.bytes, sidecarText);
      const theirs = cliReason(path);
      if (mine === "LEGACY") continue;
      assert.equal(mine, theirs, `${c.kind} ${c.name}, ${target} changed (seed above): page ${mine}, CLI ${theirs}`);
      verdicts[mine] = (verdicts[mine] ?? 0) + 1;
      compared++;
    }
  }
  console.log(`page-check: ${compared} tampered copies get the CLI's verdict: ${JSON.stringify(verdicts)}`);
  for (const must of ["HASH_MISMATCH", "SIGNATURE_INVALID", "MALFORMED_STAMP", "NO_STAMP"]) {
    assert.ok(verdicts[must] > 0, `the random changes produced no ${must} (seed above): the comparison would prove little`);
  }
}

try {
  checkBlake3();
  await checkStamps();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
