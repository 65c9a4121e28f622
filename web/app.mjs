// The verification page's behaviour: reading dropped files, checking their stamps with
// stamp.mjs and proof.mjs (all in the browser), and the service's read routes. Everything
// shown is built with textContent, never HTML from data, so a file or a response cannot
// inject markup.

import { Blake3 } from "./blake3.mjs";
import { locate, insertionPoint, parseSidecar, logEntry } from "./stamp.mjs";
import { checkStamp, verifyTlogProof, verifyCheckpoint, parseVkey, parseTlogProof, b64encode, b64decode } from "./proof.mjs";
import { parsePolicy, checkCosignatures } from "./witness.mjs";

const $ = (id) => document.getElementById(id);
const KEY_STORE = "omninode-api-key";
// Enough for any head (front matter is looked for up to 64 KiB) and stamp; a longer head is
// read whole (below).
const HEAD_BYTES = 1 << 20;
const SLICE_BYTES = 8 << 20;

// ---- small helpers ------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function facts(pairs) {
  return el("dl", {}, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

const mono = (t) => el("span", { class: "mono" }, t);

function size(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]} (${n.toLocaleString("en")} bytes)`;
}

const pause = () => new Promise((r) => setTimeout(r, 0));

// ---- the API key: memory first, session storage only when asked --------------------------

let apiKey = "";

function setupKey() {
  const input = $("api-key");
  const keep = $("api-key-keep");
  const kept = sessionStorage.getItem(KEY_STORE);
  if (kept !== null) {
    apiKey = kept;
    input.value = kept;
    keep.checked = true;
  }
  const sync = () => {
    apiKey = input.value.trim();
    if (keep.checked) sessionStorage.setItem(KEY_STORE, apiKey);
    else sessionStorage.removeItem(KEY_STORE);
  };
  input.addEventListener("input", sync);
  keep.addEventListener("change", sync);
}

/** Calls a route of this service (relative to the page, so a path prefix works). */
async function api(path, { method = "GET", json, text = false } = {}) {
  const headers = {};
  if (apiKey) headers["X-API-Key"] = apiKey;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  } catch (e) {
    return { status: 0, error: `the service did not answer (${e.message})` };
  }
  if (text) return { status: res.status, text: await res.text() };
  let body = null;
  try {
    body = await res.json();
  } catch {
    return { status: res.status, error: `HTTP ${res.status}, not JSON` };
  }
  const error = body?.error ? `${body.error.code}: ${body.error.message}` : null;
  return { status: res.status, data: body?.data ?? null, error };
}

const needsKey = (r) => (r.status === 401 ? "this needs an API key (below)" : r.status === 403 ? "the API key does not allow this namespace" : null);

// ---- reading and hashing files ------------------------------------------------------------

async function bytesOf(file, start, end) {
  return new Uint8Array(await file.slice(start, end).arrayBuffer());
}

/** Hashes `file` without `[cut0, cut1)`, slice by slice, reporting progress. */
async function hashFile(file, cut0, cut1, report) {
  const h = new Blake3();
  const ranges = [[0, cut0], [cut1, file.size]];
  const total = file.size - (cut1 - cut0);
  let done = 0;
  for (const [a, b] of ranges) {
    for (let p = a; p < b; p += SLICE_BYTES) {
      const q = Math.min(b, p + SLICE_BYTES);
      h.update(await bytesOf(file, p, q));
      done += q - p;
      report(done, total);
      await pause();
    }
  }
  return h.hex();
}

/** Finds the stamp in `file` the way the service does, reading no more than needed. */
async function locateIn(file) {
  let head = await bytesOf(file, 0, Math.min(file.size, HEAD_BYTES));
  if (file.size > head.length) {
    const found = locate(head);
    // A head (a shebang line, say) that runs past what was read: read the file whole.
    if (insertionPoint(head).at >= head.length || (found.kind === "found" && found.end >= head.length)) {
      head = await bytesOf(file, 0, file.size);
    } else {
      return { loc: found, head };
    }
  }
  return { loc: locate(head), head };
}

// ---- verification -------------------------------------------------------------------------

/** What the page concludes about a file (and its sidecar, if given). */
async function examine(file, sidecar, report) {
  const out = { file, sidecar: !!sidecar };
  let start = 0;
  let end = 0;
  if (sidecar) {
    const parsed = parseSidecar(await sidecar.text());
    if (parsed.error) out.loc = { kind: parsed.error === "none" ? "none" : "malformed", message: parsed.message };
    else out.loc = { kind: "found", stamp: parsed };
  } else {
    const { loc, head } = await locateIn(file);
    out.loc = loc;
    if (loc.kind === "found") {
      ({ start, end } = loc);
      out.stampText = new TextDecoder().decode(head.subarray(start, end)).replace(/^\r?\n/, "").replace(/\r?\n$/, "");
    }
  }
  const t0 = performance.now();
  out.hash = await hashFile(file, start, end, report);
  out.hashMs = performance.now() - t0;
  out.size = file.size - (end - start);
  if (out.loc.kind !== "found") return out;

  const stamp = out.loc.stamp;
  out.stamp = stamp;
  Object.assign(out, await checkStamp(stamp, out.hash, out.size));
  if (out.signer) {
    const keys = await api("keys");
    const known = keys.data?.keys?.find((k) => k.id === out.signer);
    out.trust = known ? "TRUSTED" : "UNTRUSTED_KEY";
    out.keyStatus = known?.status ?? null;
    if (known) {
      const [proof, vkey] = await Promise.all([api(`stamps/${stamp.stampId}/proof`, { text: true }), api("log/key", { text: true })]);
      if (proof.status === 200 && vkey.status === 200) {
        try {
          out.log = await verifyTlogProof(proof.text, vkey.text, logEntry(out.statement, stamp.signature));
          out.trust = "LOGGED";
          out.proofText = proof.text;
          out.witnesses = await witnessesOf(parseTlogProof(proof.text).checkpoint);
          if (out.witnesses?.quorum === true) out.trust = "WITNESSED";
        } catch (e) {
          out.logError = e.message;
        }
      } else {
        out.logError = proof.status === 404 ? "not in this service's log" : `no proof (HTTP ${proof.status || "error"})`;
      }
    }
  } else if (!stamp.key) {
    out.trust = "UNSIGNED";
  }
  // What the service stored for this stamp (the record is per namespace and hash).
  if (stamp.namespace || stamp.format !== "rich") {
    const q = stamp.namespace ? `?namespace=${encodeURIComponent(stamp.namespace)}` : "";
    const rec = await api(`stamp/${stamp.fileHash}${q}`);
    if (rec.status === 200) out.record = rec.data;
    else out.recordError = needsKey(rec) ?? (rec.status === 404 ? "no stamp of this hash is stored here" : rec.error);
  }
  return out;
}

/**
 * The cosignatures of a (log-verified) checkpoint against the service's witness policy, or
 * null when the service has none; `{error}` when a cosignature fails.
 */
async function witnessesOf(note) {
  const policy = await api("log/policy", { text: true });
  if (policy.status !== 200) return null;
  try {
    return await checkCosignatures(note, await parsePolicy(policy.text));
  } catch (e) {
    return { error: e.message };
  }
}

/** The witness facts of a checkpoint, for the page. */
function witnessFacts(w) {
  if (!w) return [];
  if (w.error) return [["Witnesses", w.error]];
  const rows = w.cosigs.map((c) => [
    `Cosigned by ${c.label}`,
    `${c.name} (${c.kind}) at ${new Date(c.time * 1000).toISOString()}: ${c.status === "verified" ? "verified in this browser" : "ML-DSA-44, checked by the CLI only (omninode-bridge verify --policy)"}`,
  ]);
  const q = w.quorum === true ? "met" : w.quorum === false ? "not met" : "depends on ML-DSA-44 cosignatures: check with the CLI";
  return [...rows, ["Witness quorum", q]];
}

/** Where the file's stamp and the stored one first differ, or null. */
function stampDifference(mine, stored) {
  if (mine === undefined || !stored) return null;
  const a = mine.split(/\r?\n/);
  const b = stored.split(/\r?\n/);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return { line: i + 1, file: a[i] ?? "(nothing)", stored: b[i] ?? "(nothing)" };
  }
  return null;
}

function verdictOf(r) {
  const k = r.loc.kind;
  if (k === "none") return { state: "no-stamp", cls: "none", title: "No stamp", text: "This file carries no O.N.E. stamp." };
  if (k === "legacy") return { state: "legacy", cls: "none", title: "A stamp of the Python original", text: "Check it with omninode-bridge verify (below)." };
  if (k === "unsupported") return { state: "unsupported", cls: "bad", title: "Unsupported stamp version", text: `metadata_version ${r.loc.version} is not 0.1.` };
  if (k === "malformed") {
    return { state: "malformed", cls: "bad", title: "Malformed stamp", text: r.loc.line ? `line ${r.loc.line}: ${r.loc.message}` : r.loc.message };
  }
  if (!r.contentOk) {
    return { state: "tampered", cls: "bad", title: "Tampered", text: "The content differs from what was stamped: its BLAKE3 hash does not match the stamp's file_hash." };
  }
  if (r.signatureError) return { state: "signature-invalid", cls: "bad", title: "Invalid signature", text: r.signatureError };
  if (!r.signer) {
    return { state: "valid-unsigned", cls: "ok", title: "Valid, unsigned", text: "The content matches the stamp, but the stamp is not signed: anyone could have written it." };
  }
  const by = `signed by ${r.signer}`;
  if (r.trust === "UNTRUSTED_KEY") return { state: "valid-untrusted", cls: "none", title: `Valid, ${by}`, text: "The signature verifies, but the key is not one of this service's." };
  const text =
    r.trust === "WITNESSED"
      ? "Signed by this service's key, proven to be in its public log, and the log's checkpoint cosigned by a quorum of its witnesses."
      : r.trust === "LOGGED"
        ? "Signed by this service's key and proven to be in its public log."
        : "Signed by this service's key.";
  return { state: "valid", cls: "ok", title: `Valid, ${by}`, text };
}

function render(r) {
  const v = verdictOf(r);
  const box = $("result");
  box.hidden = false;
  box.dataset.verdict = v.state;
  box.dataset.trust = r.trust ?? "";
  const s = r.stamp;
  const parts = [
    el("div", { class: `verdict ${v.cls}`, id: "verdict" }, el("strong", {}, v.title), v.text),
    facts([
      ["File", r.file.name],
      ["Size", size(r.size) + (r.stampText !== undefined ? " without the stamp" : "")],
      ["BLAKE3 (this browser)", mono(r.hash)],
      ["Stamp's hash", s && mono(s.fileHash)],
      ["Stamp", s && `${s.format}${r.sidecar ? " (sidecar)" : ""}, id ${s.stampId}`],
      ["Namespace", s?.namespace],
      ["Stamped at", s?.createdAt],
      ["Stamp's size", s?.fileSize !== null && s?.fileSize !== undefined ? size(s.fileSize) : null],
      ["Signed by", r.signer ? mono(`${r.signer}${r.keyStatus ? ` (${r.keyStatus} key of this service)` : ""}`) : s?.key ? null : s && "not signed"],
      ["Trust", r.trust],
      ["Log", r.log ? `entry ${r.log.index} of ${r.log.size} in ${r.log.origin}; inclusion proof and checkpoint signature verified in this browser` : r.logError],
      ...witnessFacts(r.witnesses),
      ["Stored stamp", r.record ? (r.record.stamp_id === s.stampId ? "this is the stamp stored for this content" : `another stamp is stored for this content (${r.record.stamp_id})`) : r.recordError],
    ]),
  ];
  if (v.state === "tampered") {
    const diff = stampDifference(r.stampText, r.record?.stamp_id === s.stampId ? r.record.stamp : null);
    if (diff) {
      parts.push(el("p", {}, `The stamp itself was changed: its line ${diff.line} differs from the stored stamp.`), el("pre", { class: "diff" }, `file:   ${diff.file}\nstored: ${diff.stored}`));
    } else if (r.record?.stamp_id === s.stampId) {
      parts.push(el("p", { id: "difference" }, "The stamp matches the stored one: the change is in the content.", s.fileSize !== r.size ? ` It is ${r.size} bytes now, ${s.fileSize} when stamped.` : " Its size is unchanged, so bytes were altered in place."));
    }
    if (r.signer) parts.push(el("p", {}, `The stamp's own signature verifies (${r.signer}): the stamp is genuine, the file was changed after it.`));
  }
  box.replaceChildren(...parts);
  $("stamp-form").hidden = false;
  $("stamp-result").replaceChildren();
  if (s?.namespace && !$("stamp-ns").value) $("stamp-ns").value = s.namespace;
}

// ---- the drop zone ------------------------------------------------------------------------

let current = null; // the file the stamp button would send

async function handleFiles(list) {
  const files = [...list];
  if (files.length === 0) return;
  const side = files.find((f) => f.name.endsWith(".onex-stamp"));
  const main = files.find((f) => f !== side);
  const progress = $("progress");
  if (!main) {
    progress.textContent = `${side.name} is a sidecar: choose it together with the file it describes.`;
    return;
  }
  if (side && side.name !== `${main.name}.onex-stamp`) {
    progress.textContent = `${side.name} is not the sidecar of ${main.name}; checking ${main.name} alone.`;
  }
  const sidecar = side && side.name === `${main.name}.onex-stamp` ? side : null;
  current = main;
  $("result").hidden = true;
  progress.textContent = `Hashing ${main.name}…`;
  try {
    const r = await examine(main, sidecar, (done, total) => {
      progress.textContent = `Hashing ${main.name}: ${total ? Math.floor((100 * done) / total) : 100}%`;
    });
    progress.textContent = `Hashed ${size(r.size)} in ${(r.hashMs / 1000).toFixed(2)} s in this browser.`;
    progress.dataset.hash = r.hash;
    progress.dataset.ms = r.hashMs.toFixed(1);
    render(r);
  } catch (e) {
    progress.textContent = `Could not check ${main.name}: ${e.message}`;
  }
}

function setupDrop() {
  const zone = $("drop");
  const input = $("file");
  input.addEventListener("change", () => handleFiles(input.files));
  for (const t of ["dragenter", "dragover"]) {
    zone.addEventListener(t, (e) => {
      e.preventDefault();
      zone.classList.add("over");
    });
  }
  for (const t of ["dragleave", "drop"]) zone.addEventListener(t, () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    handleFiles(e.dataTransfer.files);
  });
}

// ---- stamping (an explicit action: the one place a file leaves the browser) --------------

const download = (name, blob, label) => el("a", { href: URL.createObjectURL(blob), download: name }, label);

function setupStamp() {
  $("stamp-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = $("stamp-result");
    if (!current) return;
    const button = $("stamp-button");
    button.disabled = true;
    out.replaceChildren(el("p", { class: "hint" }, `Sending ${current.name}…`));
    const bytes = await bytesOf(current, 0, current.size);
    const r = await api("stamp", {
      method: "POST",
      json: {
        content: b64encode(bytes),
        content_encoding: "base64",
        namespace: $("stamp-ns").value.trim(),
        file_path: current.name,
        stamp_type: $("stamp-type").value,
      },
    });
    button.disabled = false;
    if (r.status !== 200 && r.status !== 201) {
      out.replaceChildren(el("div", { class: "verdict bad", id: "stamp-error" }, el("strong", {}, "Not stamped"), needsKey(r) ?? r.error ?? `HTTP ${r.status}`));
      return;
    }
    const d = r.data;
    const links = [];
    if (d.stamped_content !== null) {
      links.push(download(current.name, new Blob([b64decode(d.stamped_content)]), `Download the stamped ${current.name}`));
    } else {
      links.push(download(`${current.name}.onex-stamp`, new Blob([d.stamp]), `Download the sidecar ${current.name}.onex-stamp`));
    }
    if (d.log?.proof) links.push(download(`${current.name}.tlog-proof`, new Blob([d.log.proof]), `Download its log proof ${current.name}.tlog-proof`));
    links.push(el("a", { href: "keys/allowed_signers", download: "allowed_signers" }, "allowed_signers"));
    links.push(el("a", { href: "log/key", download: "log.vkey" }, "log key"));
    out.replaceChildren(
      el("div", { class: "verdict ok", id: "stamp-done" }, el("strong", {}, d.deduplicated ? "Already stamped" : "Stamped"), `stamp ${d.stamp_id} in ${d.namespace}${d.log ? `, log entry ${d.log.index}` : ""}`),
      el("p", { class: "downloads" }, links),
    );
  });
}

// ---- lookup, listing, log -----------------------------------------------------------------

function setupLookup() {
  $("lookup-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = $("lookup-result");
    const hash = $("lookup-hash").value.trim().replace(/^blake3:/, "");
    const ns = $("lookup-ns").value.trim();
    const r = await api(`stamp/${encodeURIComponent(hash)}${ns ? `?namespace=${encodeURIComponent(ns)}` : ""}`);
    if (r.status !== 200) {
      out.replaceChildren(el("p", { class: "verdict none", id: "lookup-none" }, needsKey(r) ?? (r.status === 404 ? "No stamp of this hash is stored here." : r.error)));
      return;
    }
    const d = r.data;
    out.replaceChildren(
      facts([
        ["Stamp", mono(d.stamp_id)],
        ["Namespace", d.namespace],
        ["File", d.file_path ?? "(no path)"],
        ["Type", d.content_type],
        ["Size", size(d.file_size)],
        ["Stamped at", d.created_at],
        ["Signed by", d.signing_key ? mono(d.signing_key) : "not signed"],
        ["Log entry", d.log_index ?? "not logged"],
      ]),
      el("pre", { class: "diff" }, d.stamp),
    );
  });
}

function setupNamespace() {
  const cursors = [];
  const load = async (after) => {
    const out = $("ns-result");
    const ns = $("ns-name").value.trim();
    const q = new URLSearchParams({ limit: "50" });
    if (after !== null) q.set("after", after);
    const r = await api(`namespaces/${encodeURIComponent(ns)}/stamps?${q}`);
    if (r.status !== 200) {
      out.replaceChildren(el("p", { class: "verdict bad" }, needsKey(r) ?? r.error));
      return;
    }
    const rows = r.data.stamps.map((s) =>
      el("tr", {}, el("td", {}, s.index), el("td", {}, s.file_path ?? "—"), el("td", {}, mono(s.file_hash.slice(0, 16) + "…")), el("td", {}, s.content_type), el("td", {}, s.file_size), el("td", {}, s.created_at)),
    );
    const nav = el("p", {});
    if (cursors.length > 0) {
      nav.append(el("button", { type: "button", onclick: () => load(cursors.pop() ?? null) }, "Previous page"), " ");
    }
    if (r.data.next) {
      nav.append(el("button", { type: "button", onclick: () => { cursors.push(after); load(r.data.next); } }, "Next page"));
    }
    out.replaceChildren(
      el("p", {}, rows.length ? `${rows.length} stamps of ${r.data.namespace}, in log order${after !== null ? ` after entry ${after}` : ""}.` : "No stamps in this namespace."),
      rows.length ? el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {}, ["Log entry", "File", "BLAKE3", "Type", "Bytes", "Stamped at"].map((h) => el("th", { scope: "col" }, h)))), el("tbody", {}, rows))) : null,
      nav,
    );
  };
  $("ns-form").addEventListener("submit", (e) => {
    e.preventDefault();
    cursors.length = 0;
    load(null);
  });
}

async function loadLog() {
  const out = $("log-result");
  const [cp, vkey] = await Promise.all([api("log/checkpoint", { text: true }), api("log/key", { text: true })]);
  if (cp.status !== 200 || vkey.status !== 200) {
    out.replaceChildren(el("p", { class: "hint" }, "This service has no log."));
    return;
  }
  try {
    const key = await parseVkey(vkey.text);
    const c = await verifyCheckpoint(cp.text, key);
    const w = await witnessesOf(cp.text);
    out.dataset.size = c.size;
    out.dataset.quorum = w ? String(w.quorum ?? "undecided") : "";
    out.replaceChildren(
      facts([
        ["Origin", c.origin],
        ["Tree size", `${c.size.toLocaleString("en")} ${c.size === 1 ? "entry" : "entries"}`],
        ["Root hash", mono(b64encode(c.root))],
        ["Signature", `verified in this browser with the log key ${key.id}`],
        ...witnessFacts(w),
      ]),
    );
  } catch (e) {
    out.replaceChildren(el("p", { class: "verdict bad" }, `The checkpoint does not verify: ${e.message}`));
  }
}

setupKey();
setupDrop();
setupStamp();
setupLookup();
setupNamespace();
$("log-refresh").addEventListener("click", loadLog);
loadLog();
