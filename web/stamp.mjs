// Finding and reading an O.N.E. v0.1 stamp in a file's bytes, in the browser (SPEC §3).
//
// A port of bridge-core's `stamp::{head, locate, syntax}` and `firstlines`: the stamp is
// looked for only where the service inserts it, so removal is exact and a stamp-like text
// further down a file is never taken for the stamp. `scripts/page-check` runs this module in
// node against stamps the Rust CLI wrote (every head rule, comment syntax and line ending)
// and against their tampered copies, and requires the same verdict as `omninode-bridge verify`.

import { blake3Hex } from "./blake3.mjs";

export const METADATA_VERSION = "0.1";

/** The comment syntaxes, as bridge-core's `CommentStyle::ALL`, with their markers. */
export const STYLES = [
  { name: "hash", begin: "# ---BEGIN ONEX STAMP---", end: "# ---END ONEX STAMP---", prefix: "# ", open: "# ", close: "" },
  { name: "slash", begin: "// ---BEGIN ONEX STAMP---", end: "// ---END ONEX STAMP---", prefix: "// ", open: "// ", close: "" },
  { name: "dash", begin: "-- ---BEGIN ONEX STAMP---", end: "-- ---END ONEX STAMP---", prefix: "-- ", open: "-- ", close: "" },
  { name: "html", begin: "<!-- ONEX STAMP BEGIN", end: "ONEX STAMP END -->", prefix: "", open: "<!-- ", close: " -->" },
  { name: "css", begin: "/* ---BEGIN ONEX STAMP---", end: "---END ONEX STAMP--- */", prefix: "", open: "/* ", close: " */" },
];

const MAX_BLOCK_LINES = 24;
const MAX_FRONT_MATTER = 64 * 1024;
const MAX_HEAD_LINES = 6;
const NL = 10;
const CR = 13;

// Bytes as a string of one char per byte (windows-1252 maps no byte above 0x7F to ASCII, so
// comparisons with the ASCII markers are byte-exact and offsets are kept).
const bytesDecoder = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8", { fatal: true });
const ascii = (bytes) => bytesDecoder.decode(bytes);

function utf8OrNull(bytes) {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

// ---- head.rs / firstlines.rs -------------------------------------------------------------

// One line from `pos`: its text (a subarray, without CR LF) and where the next line starts.
function lineAt(s, pos) {
  const i = s.indexOf(NL, pos);
  if (i < 0) return { text: s.subarray(pos), next: null };
  const end = i > pos && s[i - 1] === CR ? i - 1 : i;
  return { text: s.subarray(pos, end), next: i + 1 };
}

const startsWith = (bytes, prefix) => ascii(bytes.subarray(0, prefix.length)) === prefix;
const isAlnum = (b) => (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122);
const isSpace = (b) => b === 32 || b === 9 || b === 10 || b === 12 || b === 13;

function trimStart(s) {
  let i = 0;
  while (i < s.length && (s[i] === 32 || s[i] === 9)) i++;
  return s.subarray(i);
}

/** Dockerfile parser directive: `# syntax=…`, `# escape=…`, `# check=…`. */
export function isParserDirective(line) {
  if (line[0] !== 35) return false;
  let rest = trimStart(line.subarray(1));
  let n = 0;
  while (n < rest.length && isAlnum(rest[n])) n++;
  const name = ascii(rest.subarray(0, n)).toLowerCase();
  rest = trimStart(rest.subarray(n));
  if (rest[0] !== 61) return false;
  return ["syntax", "escape", "check"].includes(name) && trimStart(rest.subarray(1)).length > 0;
}

/** PEP 263 coding cookie. */
export function isCodingCookie(line) {
  let i = 0;
  while (i < line.length && (line[i] === 32 || line[i] === 9 || line[i] === 12)) i++;
  if (i === line.length || line[i] !== 35) return false;
  const t = ascii(line.subarray(i));
  let at = t.indexOf("coding");
  while (at >= 0) {
    const sep = t[at + 6];
    if (sep === ":" || sep === "=") {
      const rest = trimStart(line.subarray(i + at + 7));
      const b = rest[0];
      if (b !== undefined && (isAlnum(b) || b === 45 || b === 95 || b === 46)) return true;
    }
    at = t.indexOf("coding", at + 1);
  }
  return false;
}

/** Emacs (`-*- … -*-`) or Vim (`vi:`, `vim:`, `Vim:`, `ex:`) mode line. */
export function isModeLine(line) {
  const t = ascii(line);
  const e = t.indexOf("-*-");
  if (e >= 0 && t.indexOf("-*-", e + 3) >= 0) return true;
  for (const tag of ["vi:", "vim:", "Vim:", "ex:"]) {
    for (let i = t.indexOf(tag); i >= 0; i = t.indexOf(tag, i + 1)) {
      const before = i === 0 ? tag !== "ex:" : isSpace(line[i - 1]);
      if (before && line.length > i + tag.length) return true;
    }
  }
  return false;
}

function frontMatter(s, at) {
  const open = lineAt(s, at);
  const o = ascii(open.text);
  const closes = o === "---" ? ["---", "..."] : o === "+++" ? ["+++"] : null;
  if (!closes || open.next === null) return undefined;
  let pos = open.next;
  while (pos < s.length && pos - at <= MAX_FRONT_MATTER) {
    const l = lineAt(s, pos);
    if (closes.includes(ascii(l.text))) return { next: l.next };
    if (l.next === null) return undefined;
    pos = l.next;
  }
  return undefined;
}

/** Where a stamp goes in `content`: `{at, newlineFirst}` (head.rs `insertion_point`). */
export function insertionPoint(s) {
  const bom = s[0] === 0xef && s[1] === 0xbb && s[2] === 0xbf ? 3 : 0;
  const body = s.subarray(bom);
  let pos = bom;
  let lines = 0;
  if (startsWith(body, "#!")) {
    const l = lineAt(s, bom);
    if (l.next === null) return { at: s.length, newlineFirst: true };
    pos = l.next;
    lines = 1;
  } else if (startsWith(body, "<?xml")) {
    const i = ascii(body).indexOf("?>");
    if (i >= 0) {
      let at = bom + i + 2;
      if (s[at] === CR && s[at + 1] === NL) at += 2;
      else if (s[at] === NL) at += 1;
      return { at, newlineFirst: false };
    }
  } else {
    const fm = frontMatter(s, bom);
    if (fm !== undefined) {
      return fm.next === null ? { at: s.length, newlineFirst: true } : { at: fm.next, newlineFirst: false };
    }
  }
  let directivesOnly = lines === 0;
  for (let k = 0; k < MAX_HEAD_LINES; k++) {
    if (pos >= s.length) break;
    const l = lineAt(s, pos);
    const firstLines = lines < 2;
    const directive = directivesOnly && isParserDirective(l.text);
    if (!(directive || (firstLines && (isCodingCookie(l.text) || isModeLine(l.text))))) break;
    directivesOnly = directivesOnly && directive;
    lines += 1;
    if (l.next === null) return { at: s.length, newlineFirst: true };
    pos = l.next;
  }
  return { at: pos, newlineFirst: false };
}

// ---- syntax.rs ---------------------------------------------------------------------------

const isControl = (c) => /[\u0000-\u001f\u007f-\u009f]/u.test(c);

/** Percent-escapes `%`, controls, and what would close the comment of `style` (or none). */
export function escapeValue(value, style) {
  let out = "";
  let prev = "\0";
  for (const c of value) {
    const closes = (style === "html" && c === "-" && prev === "-") || (style === "css" && c === "/" && prev === "*");
    if (c === "%" || isControl(c) || closes) {
      for (const b of new TextEncoder().encode(c)) out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
    } else {
      out += c;
    }
    prev = c;
  }
  return out;
}

/** Reverses `escapeValue`; null for a malformed escape or a non-UTF-8 result. */
export function unescapeValue(raw) {
  if (!raw.includes("%")) return raw;
  const src = new TextEncoder().encode(raw);
  const out = [];
  for (let i = 0; i < src.length; ) {
    if (src[i] === 37) {
      const hex = String.fromCharCode(...src.subarray(i + 1, i + 3));
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      out.push(parseInt(hex, 16));
      i += 3;
    } else {
      out.push(src[i]);
      i += 1;
    }
  }
  return utf8OrNull(new Uint8Array(out));
}

/** The unsigned stamp's checksum: 16 hex digits of BLAKE3 over its covered fields. */
export const fieldsChecksum = (text) => blake3Hex(text).slice(0, 16);

// ---- locate.rs ---------------------------------------------------------------------------

function lineNumber(s, pos) {
  let n = 1;
  for (let i = s.indexOf(NL); i >= 0 && i < pos; i = s.indexOf(NL, i + 1)) n++;
  return n;
}

// A line with its terminator length (0 at the end, 1 for LF, 2 for CRLF).
function readLine(s, pos) {
  const i = s.indexOf(NL, pos);
  if (i < 0) return { text: s.subarray(pos), start: pos, term: 0 };
  if (i > pos && s[i - 1] === CR) return { text: s.subarray(pos, i - 1), start: pos, term: 2 };
  return { text: s.subarray(pos, i), start: pos, term: 1 };
}

/**
 * Looks for the stamp in `content` (a Uint8Array). One of:
 * `{kind: "found", start, end, stamp}`, `{kind: "malformed", line, message}`,
 * `{kind: "unsupported", version}`, `{kind: "legacy"}` (the Python original's block,
 * which the CLI checks) or `{kind: "none"}`.
 */
export function locate(content) {
  const { at, newlineFirst } = insertionPoint(content);
  const found = blockAt(content, at, false);
  if (found.kind === "found") return found;
  const bom = content[0] === 0xef && content[1] === 0xbb && content[2] === 0xbf ? 3 : 0;
  if (!newlineFirst && at > bom && content[at - 1] === NL) {
    const second = blockAt(content, at - 1, true);
    if (second.kind === "found" || (found.kind === "none" && second.kind !== "none")) return second;
  }
  if (found.kind !== "none") return found;
  return isLegacyRich(content) ? { kind: "legacy" } : found;
}

function isLegacyRich(s) {
  const endAt = s[s.length - 1] === NL ? s.length - 1 : s.length;
  const tail = ascii(s.subarray(Math.max(0, endAt - 26), endAt));
  return tail === "<!-- ONEX_METADATA_END -->";
}

function blockAt(s, at, newlineFirst) {
  let pos = at;
  if (newlineFirst) {
    if (s[pos] !== NL) return { kind: "none" };
    pos += 1;
  }
  const first = readLine(s, pos);
  const firstText = utf8OrNull(first.text);
  if (firstText === null) return { kind: "none" };
  const style = STYLES.find((st) => firstText === st.begin);
  if (style) return richBlock(s, at, newlineFirst, style, first);
  for (const st of STYLES) {
    if (!firstText.startsWith(st.open) || !firstText.endsWith(st.close)) continue;
    const inner = firstText.slice(st.open.length, firstText.length - st.close.length);
    if (firstText.length < st.open.length + st.close.length || !inner.startsWith("ONEX:")) continue;
    let end;
    if (!newlineFirst) {
      if (first.term === 0) return { kind: "none" };
      end = first.start + first.text.length + first.term;
    } else {
      if (first.term !== 0) return { kind: "none" };
      end = s.length;
    }
    const parsed = parseLightweight(inner.slice(5), st);
    if (typeof parsed === "string") return { kind: "malformed", line: lineNumber(s, first.start), message: parsed };
    return { kind: "found", start: at, end, stamp: parsed };
  }
  return { kind: "none" };
}

function richBlock(s, at, newlineFirst, style, first) {
  const wantTerm = first.term;
  if (!newlineFirst && wantTerm === 0) return { kind: "none" };
  if (newlineFirst && wantTerm !== 1) return { kind: "none" };
  const malformed = (pos, message) => ({ kind: "malformed", line: lineNumber(s, pos), message });
  const lines = [];
  let pos = first.start + first.text.length + first.term;
  for (;;) {
    if (pos > s.length || (pos === s.length && !newlineFirst) || lines.length > MAX_BLOCK_LINES) {
      return malformed(first.start, `missing '${style.end}' line`);
    }
    const line = readLine(s, pos);
    const termOk = newlineFirst ? line.term <= 1 : line.term === wantTerm;
    const text = utf8OrNull(line.text);
    if (text === null) return malformed(line.start, "stamp line is not UTF-8");
    if (text === style.end) {
      let end;
      if (!newlineFirst && termOk) end = pos + line.text.length + line.term;
      else if (newlineFirst && line.term === 0) end = s.length;
      else return malformed(line.start, "stamp end line is not terminated like the stamp");
      const fields = [];
      for (const [p, t] of lines) {
        const body = t.startsWith(style.prefix) ? t.slice(style.prefix.length) : null;
        const sep = body === null ? -1 : body.indexOf(": ");
        if (sep < 0) return malformed(p, `expected '${style.prefix}key: value', got ${JSON.stringify(t)}`);
        fields.push([p, body.slice(0, sep), body.slice(sep + 2)]);
      }
      const parsed = parseFields(fields, "rich", style.name);
      if (parsed.error === "unsupported") return { kind: "unsupported", version: parsed.version };
      if (parsed.error) return malformed(parsed.at ?? lines[0]?.[0] ?? 0, parsed.message);
      parsed.style = style.name;
      return { kind: "found", start: at, end, stamp: parsed };
    }
    if (!termOk || (newlineFirst && line.term === 0)) return malformed(line.start, `missing '${style.end}' line`);
    lines.push([line.start, text]);
    pos += line.text.length + line.term;
  }
}

const KEYS = [
  "metadata_version", "stamp_id", "file_hash", "namespace", "content_type", "file_size",
  "file_path", "created_at", "stamp_checksum", "key", "signature",
];
const [CHECKSUM, KEY, SIGNATURE] = [8, 9, 10];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const NAMESPACE = /^[a-zA-Z0-9_.-]{1,255}$/;
// RFC 3339 as chrono's `parse_from_rfc3339` reads it.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const KEY_ID = /^SHA256:[A-Za-z0-9+/]{43}$/;

/**
 * Checks the `key: value` fields of a rich stamp or sidecar as bridge-core's `parse_fields`
 * does: the stamp, or `{error, message, at?}`.
 */
export function parseFields(fields, format, style) {
  const vals = new Array(11).fill(null);
  let covered = "";
  const at = (pos, message) => ({ error: "at", at: pos, message });
  for (const [pos, key, raw] of fields) {
    const i = KEYS.indexOf(key);
    if (i < 0) return at(pos, `unknown stamp field '${key}'`);
    if (vals[i]) return at(pos, `duplicate stamp field '${key}'`);
    if (vals[CHECKSUM] || vals[SIGNATURE]) {
      return at(pos, `${vals[CHECKSUM] ? "stamp_checksum" : "signature"} must be the last field`);
    }
    if (i === SIGNATURE && !vals[KEY]) return at(pos, "signature must follow key");
    if (i === CHECKSUM && vals[KEY]) return at(pos, "a signed stamp has no stamp_checksum");
    if ([...raw].some(isControl)) return at(pos, `control character in '${key}'`);
    if (i < CHECKSUM) covered += `${key}: ${raw}\n`;
    vals[i] = [pos, raw];
  }
  if (!vals[0]) return { error: "missing", message: "missing stamp field 'metadata_version'" };
  if (vals[0][1] !== METADATA_VERSION) return { error: "unsupported", version: vals[0][1] };
  const signed = vals[KEY] !== null;
  for (let i = 0; i < KEYS.length; i++) {
    const needed = i === 6 || i === KEY ? false : i === CHECKSUM ? !signed : i === SIGNATURE ? signed : true;
    if (needed && !vals[i]) return { error: "missing", message: `missing stamp field '${KEYS[i]}'` };
  }
  const text = (i) => {
    const [pos, raw] = vals[i];
    const v = unescapeValue(raw);
    return v !== null && escapeValue(v, style) === raw ? v : at(pos, `bad escape in '${KEYS[i]}'`);
  };
  if (!UUID.test(vals[1][1])) return at(vals[1][0], "stamp_id is not a lower-case UUID");
  const hash = vals[2][1].startsWith("blake3:") ? vals[2][1].slice(7) : null;
  if (hash === null || !HEX64.test(hash)) {
    return at(vals[2][0], "file_hash must be 'blake3:' and 64 lowercase hex digits");
  }
  const namespace = text(3);
  if (typeof namespace !== "string") return namespace;
  if (!NAMESPACE.test(namespace)) return at(vals[3][0], "namespace must match ^[a-zA-Z0-9_.-]{1,255}$");
  const contentType = text(4);
  if (typeof contentType !== "string") return contentType;
  const size = vals[5][1];
  if (!/^(0|[1-9][0-9]*)$/.test(size) || BigInt(size) > 0xffffffffffffffffn) {
    return at(vals[5][0], "file_size is not a decimal integer");
  }
  let filePath = null;
  if (vals[6]) {
    filePath = text(6);
    if (typeof filePath !== "string") return filePath;
  }
  const createdAt = vals[7][1];
  if (!RFC3339.test(createdAt) || Number.isNaN(Date.parse(createdAt.replace(" ", "T")))) {
    return at(vals[7][0], "created_at is not an RFC 3339 time");
  }
  if (signed) {
    if (!KEY_ID.test(vals[KEY][1])) return at(vals[KEY][0], "key must be 'SHA256:' and 43 base64 characters");
  } else if (vals[CHECKSUM][1] !== fieldsChecksum(covered)) {
    return at(vals[CHECKSUM][0], "stamp_checksum does not match the stamp's fields: the stamp was altered");
  }
  return {
    format,
    stampId: vals[1][1],
    fileHash: hash,
    namespace,
    contentType,
    fileSize: Number(size),
    filePath,
    createdAt,
    key: signed ? vals[KEY][1] : null,
    signature: signed ? vals[SIGNATURE][1] : null,
  };
}

/** `uid=…,hash=…,ts=…[,chk=…]`: the stamp, or an error message. */
function parseLightweight(body, style) {
  const c = body.lastIndexOf(",chk=");
  const signedPart = c >= 0 ? body.slice(0, c) : body;
  const chk = c >= 0 ? body.slice(c + 5) : null;
  const parts = signedPart.split(",");
  const take = (key) => {
    const p = parts.shift();
    return p !== undefined && p.startsWith(key + "=") ? p.slice(key.length + 1) : null;
  };
  const uid = take("uid");
  if (uid === null) return "lightweight stamp: expected 'uid=' field";
  const hash = take("hash");
  if (hash === null) return "lightweight stamp: expected 'hash=' field";
  const ts = take("ts");
  if (ts === null) return "lightweight stamp: expected 'ts=' field";
  if (!/^[A-Za-z0-9_-]+$/.test(uid)) return "lightweight stamp: uid must be [A-Za-z0-9_-]+";
  if (!HEX64.test(hash)) return "lightweight stamp: hash must be 64 lowercase hex digits";
  if (!RFC3339.test(ts)) return "lightweight stamp: ts is not an RFC 3339 time";
  for (const extra of parts) {
    const eq = extra.indexOf("=");
    const ok = eq > 0 && ["author", "v"].includes(extra.slice(0, eq)) && eq < extra.length - 1;
    if (!ok || chk !== null) return `lightweight stamp: unexpected field ${JSON.stringify(extra)}`;
  }
  let format = "legacy-lightweight";
  if (chk !== null) {
    if (chk !== fieldsChecksum(signedPart)) return "lightweight stamp: chk does not match: the stamp was altered";
    format = "lightweight";
  }
  return {
    format, style: style.name, stampId: uid, fileHash: hash, namespace: null, contentType: null,
    fileSize: null, filePath: null, createdAt: ts, key: null, signature: null,
  };
}

/** Reads a `FILE.onex-stamp` sidecar document: the stamp, or `{error, message}`. */
export function parseSidecar(text) {
  const fields = [];
  let pos = 0;
  const lines = text.split(/(?<=\n)/);
  for (const line of lines) {
    const body = line.endsWith("\n") ? line.slice(0, -1) : null;
    const sep = body === null ? -1 : body.indexOf(": ");
    const n = text.slice(0, pos).split("\n").length;
    if (sep < 0) return { error: "at", message: `line ${n}: expected 'key: value'` };
    fields.push([pos, body.slice(0, sep), body.slice(sep + 2)]);
    pos += line.length;
  }
  if (fields.length === 0) return { error: "none", message: "the sidecar is empty" };
  const parsed = parseFields(fields, "sidecar", null);
  if (parsed.error === "at") {
    parsed.message = `line ${text.slice(0, parsed.at).split("\n").length}: ${parsed.message}`;
  }
  return parsed;
}

// ---- the statement (bridge-core `statement.rs`) -----------------------------------------

/** The signed statement of a stamp (SPEC §11), or null if its values cannot be signed. */
export function statementOf(stamp) {
  const created = new Date(stamp.createdAt);
  if (Number.isNaN(created.getTime()) || created.toISOString() !== stamp.createdAt) return null;
  const path = stamp.filePath ?? "-";
  for (const v of [stamp.namespace, stamp.contentType, stamp.key, path]) {
    if (!v || [...v].some(isControl)) return null;
  }
  return (
    `omninode-stamp/v1\nnamespace ${stamp.namespace}\nstamp_id ${stamp.stampId}\n` +
    `file_hash ${stamp.fileHash}\nfile_size ${stamp.fileSize}\ncontent_type ${stamp.contentType}\n` +
    `file_path ${path}\ncreated_at ${stamp.createdAt}\nkey ${stamp.key}\n`
  );
}

/** The log entry of a signed stamp: its statement and a `signature` line. */
export const logEntry = (statement, signature) => `${statement}signature ${signature}\n`;
