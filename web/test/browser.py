"""The verification page in a real Chromium (Debian's, driven by playwright; no browser
download), against a server this script starts (embedded store, an API key required).

Each state is checked on what the page shows, and photographed into SHOTS (not committed):
a dropped stamped file is valid, signed by the service's key and proven in the log; one
changed byte is tampered; an unstamped file has no stamp; a file stamped from the page
downloads, and `omninode-bridge verify --require logged` accepts the download; a sidecar
stamp; lookup, a namespace's stamps, the log's checkpoint; no JavaScript; a phone's
viewport; the API key in no URL and no storage unless asked; and a 100 MiB file hashed in
the page equal to b3sum (the time is reported).

Usage: python web/test/browser.py path/to/omninode-bridge SHOTS_DIR
"""

import base64
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

BIN = Path(sys.argv[1]).resolve()
SHOTS = Path(sys.argv[2]).resolve()
SHOTS.mkdir(parents=True, exist_ok=True)
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
KEY = "page-" + secrets.token_hex(12)
work = Path(tempfile.mkdtemp(prefix="page-tests-"))


def start_server(*flags, data="data", name=""):
    return start([str(BIN), "serve", "--bind", "127.0.0.1:0", "--data-dir", str(work / data), "--api-key", KEY, *flags], name)


def start(argv, name=""):
    out = open(work / f"out{name}", "w")
    err = open(work / f"err{name}", "w")
    proc = subprocess.Popen(argv, stdout=out, stderr=err)
    for _ in range(200):
        text = (work / f"out{name}").read_text()
        m = re.search(r"^listening on (\S+)", text, re.M)
        if m:
            return proc, m.group(1)
        time.sleep(0.05)
    raise SystemExit(f"{argv[1]} did not start:\n" + (work / f"err{name}").read_text())


def call(base, method, path, body=None):
    req = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"X-API-Key": KEY, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as r:
        raw = r.read()
        return json.loads(raw) if r.headers.get_content_type() == "application/json" else raw.decode()


def b3sum(path):
    return subprocess.run(["b3sum", "--no-names", str(path)], check=True, capture_output=True, text=True).stdout.strip()


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"  ok: {what}")


def verdict(page, timeout=60_000):
    page.wait_for_selector("#result[data-verdict]:not([hidden])", timeout=timeout)
    return page.get_attribute("#result", "data-verdict"), page.inner_text("#verdict")


def choose(page, *paths):
    # A fresh choice even when the same file is chosen again.
    page.evaluate("document.getElementById('result').removeAttribute('data-verdict')")
    page.set_input_files("#file", [str(p) for p in paths])


def drop(page, name, data):
    """A real drop event on the drop zone, carrying a File made in the page."""
    page.evaluate("document.getElementById('result').removeAttribute('data-verdict')")
    dt = page.evaluate_handle(
        """([name, b64]) => {
            const bin = atob(b64); const bytes = new Uint8Array(bin.length);
            for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
            const dt = new DataTransfer(); dt.items.add(new File([bytes], name)); return dt;
        }""",
        [name, base64.b64encode(data).decode()],
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": dt})


def main():
    proc, base = start_server()
    try:
        run(base)
    finally:
        proc.terminate()
        proc.wait()
    witnessed()
    leaked = [f.name for f in work.iterdir() if f.name.startswith(("out", "err")) and KEY in f.read_text()]
    check(not leaked, f"the API key appears in none of the servers' output ({leaked})")


def witnessed():
    """A service with a witness (SPEC §13): the page shows the cosignature and the quorum."""
    print("a witnessed log")
    proc, base = start_server(data="wdata", name="-w0")
    vkey = call(base, "GET", "/log/key").strip()
    proc.terminate()
    proc.wait()
    wdir = work / "witness"
    wvkey = subprocess.run([str(BIN), "keys", "generate", "--witness", "--name", "w1.page.test", str(wdir / "keys")],
                           check=True, capture_output=True, text=True).stdout.strip()
    (wdir / "policy").write_text(f"log {vkey}\nquorum none\n")
    procs = []
    try:
        wproc, wurl = start([str(BIN), "witness", "--bind", "127.0.0.1:0", "--name", "w1.page.test",
                             "--key", str(wdir / "keys" / "witness_ed25519"), "--policy", str(wdir / "policy"),
                             "--data-dir", str(wdir / "state")], "-witness")
        procs.append(wproc)
        policy = work / "policy"
        policy.write_text(f"log {vkey}\nwitness W1 {wvkey} {wurl}\nquorum W1\n")
        proc, base = start_server("--witness-policy", str(policy), "--witness-interval", "100ms", data="wdata", name="-w1")
        procs.append(proc)
        original = b"print('witnessed in the page test')\n"
        stamped = call(base, "POST", "/stamp?wait=witnessed", {"content": original.decode(), "namespace": "pagetest", "file_path": "w.py"})["data"]
        check(stamped["log"]["witnessed"], "the 201 carries a witnessed proof")
        path = work / "w.py"
        path.write_bytes(stamped["stamped_content"].encode())
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1100, "height": 1000})
            page.goto(base + "/")
            page.wait_for_selector("#log-result[data-quorum]")
            log_text = page.inner_text("#log-result")
            check(page.get_attribute("#log-result", "data-quorum") == "true", f"the checkpoint's quorum is met in the page: {log_text!r}")
            check("Cosigned by W1" in log_text and "verified in this browser" in log_text, "the witness's cosignature is shown, verified in the page")
            choose(page, path)
            state, _ = verdict(page)
            text = page.inner_text("#result")
            check(state == "valid" and page.get_attribute("#result", "data-trust") == "WITNESSED", f"trust WITNESSED: {text!r}")
            check("Witness quorum" in text and "met" in text, "the stamp's proof: the quorum is shown met")
            page.screenshot(path=str(SHOTS / "witnessed.png"), full_page=True)
            browser.close()
    finally:
        for p in procs:
            p.terminate()
            p.wait()


def run(base):
    keys = call(base, "GET", "/keys")["data"]
    key_id = keys["keys"][0]["id"]
    (work / "allowed_signers").write_text(call(base, "GET", "/keys/allowed_signers"))
    vkey = call(base, "GET", "/log/key").strip()

    # Something in the log before the page loads, so the checkpoint section has a tree.
    original = b"#!/usr/bin/env python3\nprint('hello from the page test')\n"
    stamped = call(base, "POST", "/stamp", {"content": original.decode(), "namespace": "pagetest", "file_path": "hello.py"})["data"]
    stamped_bytes = stamped["stamped_content"].encode()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        ctx = browser.new_context(viewport={"width": 1100, "height": 1000}, accept_downloads=True)
        page = ctx.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        console = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.goto(base + "/")
        try:
            steps(page, base, requests, errors, key_id, vkey, stamped, stamped_bytes)
        except Exception:
            # What the page showed and said, for the one who reads the failure.
            page.screenshot(path=str(SHOTS / "failure.png"), full_page=True)
            print("page console:\n  " + "\n  ".join(console), file=sys.stderr)
            print(f"page errors: {errors}\npage text:\n{page.inner_text('body')}", file=sys.stderr)
            raise
        ctx.close()
        others(browser, base)
        browser.close()


def steps(page, base, requests, errors, key_id, vkey, stamped, stamped_bytes):

    print("the page and its log section")
    page.wait_for_selector("#log-result[data-size]")
    check(int(page.get_attribute("#log-result", "data-size")) >= 1, "the checkpoint's tree size is shown")
    log_text = page.inner_text("#log-result")
    check("verified in this browser" in log_text, f"the checkpoint's signature is verified in the page: {log_text!r}")
    # Keyboard: the first Tab reaches the file picker, which has a label.
    page.keyboard.press("Tab")
    check(page.evaluate("document.activeElement.id") == "file", "Tab reaches the file picker first")
    unlabeled = page.evaluate(
        "[...document.querySelectorAll('input, select')].filter(e => e.labels.length === 0).map(e => e.id)"
    )
    check(unlabeled == [], f"every input has a label ({unlabeled})")

    print("the API key: typed into the page, kept in memory only")
    page.fill("#api-key", KEY)
    check(page.evaluate("sessionStorage.length + localStorage.length") == 0, "nothing stored without asking")

    print("a stamped file, dropped")
    drop(page, "hello.py", stamped_bytes)
    state, text = verdict(page)
    check(state == "valid", f"dropped stamped file: {state}")
    check(f"signed by {key_id}" in text, f"the headline names the key: {text!r}")
    check(page.get_attribute("#result", "data-trust") == "LOGGED", "trust LOGGED: inclusion proof verified in the page")
    details = page.inner_text("#result")
    check(f"entry {stamped['log']['index']} of" in details, "the log entry's index is shown")
    check(page.get_attribute("#progress", "data-hash") == stamped["file_hash"], "the page's hash is the stamp's file_hash")
    page.screenshot(path=str(SHOTS / "valid.png"), full_page=True)
    page.locator("section.card").first.screenshot(path=str(SHOTS / "valid-card.png"))

    print("the same file with one byte changed")
    tampered = bytearray(stamped_bytes)
    at = tampered.rindex(b"hello")
    tampered[at] = ord("j")
    (work / "hello.py").write_bytes(bytes(tampered))
    choose(page, work / "hello.py")
    state, text = verdict(page)
    check(state == "tampered", f"one changed byte: {state}")
    check("Tampered" in text, "the headline says Tampered")
    check("the change is in the content" in page.inner_text("#result"), "the stored stamp shows the stamp itself is intact")
    check("the stamp is genuine" in page.inner_text("#result"), "the stamp's own signature is reported as verifying")
    page.screenshot(path=str(SHOTS / "tampered.png"), full_page=True)

    print("the stamp's own fields changed")
    forged = bytes(stamped_bytes).replace(b"namespace: pagetest", b"namespace: pagetesx")
    (work / "forged.py").write_bytes(forged)
    choose(page, work / "forged.py")
    state, _ = verdict(page)
    check(state == "signature-invalid", f"a changed namespace breaks the signature: {state}")

    print("an unstamped file")
    (work / "notes.txt").write_bytes(b"nobody stamped this\n")
    choose(page, work / "notes.txt")
    state, text = verdict(page)
    check(state == "no-stamp", f"unstamped: {state}")
    page.screenshot(path=str(SHOTS / "no-stamp.png"), full_page=True)

    print("stamping from the page, then the CLI verifies the download")
    page.fill("#stamp-ns", "pagetest")
    page.click("#stamp-button")
    page.wait_for_selector("#stamp-done", timeout=30_000)
    with page.expect_download() as d:
        page.click("text=Download the stamped notes.txt")
    (work / "dl").mkdir(exist_ok=True)
    d.value.save_as(work / "dl" / "notes.txt")
    with page.expect_download() as d:
        page.click("text=Download its log proof notes.txt.tlog-proof")
    d.value.save_as(work / "dl" / "notes.txt.tlog-proof")
    page.screenshot(path=str(SHOTS / "stamped.png"), full_page=True)
    r = subprocess.run(
        [str(BIN), "verify", "--trust", str(work / "allowed_signers"), "--log-key", vkey, "--require", "logged", str(work / "dl" / "notes.txt")],
        capture_output=True,
        text=True,
    )
    check(r.returncode == 0 and "VALID LOGGED" in r.stdout, f"CLI: {r.stdout.strip()} {r.stderr.strip()[-300:]}")
    choose(page, work / "dl" / "notes.txt")
    state, _ = verdict(page)
    check(state == "valid", f"the downloaded stamped file verifies in the page too: {state}")

    print("a binary file: stamped from the page as a sidecar, then both dropped together")
    png = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(4000)
    (work / "pic.png").write_bytes(png)
    choose(page, work / "pic.png")
    verdict(page)
    page.click("#stamp-button")
    page.wait_for_selector("#stamp-done", timeout=30_000)
    with page.expect_download() as d:
        page.click("text=Download the sidecar pic.png.onex-stamp")
    d.value.save_as(work / "pic.png.onex-stamp")
    choose(page, work / "pic.png", work / "pic.png.onex-stamp")
    state, text = verdict(page)
    check(state == "valid" and key_id in text, f"file and sidecar together: {state}")

    print("lookup by hash, a namespace's stamps")
    page.fill("#lookup-hash", stamped["file_hash"])
    page.fill("#lookup-ns", "pagetest")
    page.click("#lookup-form button")
    page.wait_for_selector("#lookup-result dl")
    check(stamped["stamp_id"] in page.inner_text("#lookup-result"), "the lookup shows the stored stamp")
    page.fill("#ns-name", "pagetest")
    page.click("#ns-form button")
    page.wait_for_selector("#ns-result table")
    rows = page.locator("#ns-result tbody tr").count()
    listed = call(base, "GET", "/namespaces/pagetest/stamps")["data"]["stamps"]
    check(rows == len(listed) == 3, f"the namespace's {len(listed)} stamps are listed ({rows} rows)")
    page.screenshot(path=str(SHOTS / "namespace.png"), full_page=True)

    print("the key stayed in memory")
    check(page.evaluate("sessionStorage.length + localStorage.length") == 0, "no storage holds the key")
    check(not [u for u in requests if KEY in u], "no request URL carries the key")
    page.check("#api-key-keep")
    check(page.evaluate("sessionStorage.getItem('omninode-api-key')") == KEY, "kept in session storage when asked")
    page.uncheck("#api-key-keep")
    check(page.evaluate("sessionStorage.length") == 0, "and forgotten when unticked")
    foreign = [u for u in requests if not (u.startswith(base) or u.startswith("blob:"))]
    check(not foreign, f"the page asked no other origin ({foreign})")
    check(not errors, f"no script errors ({errors})")

    print("a 100 MiB file hashed in the page")
    big = work / "big.bin"
    with open(big, "wb") as f:
        for _ in range(100):
            f.write(secrets.token_bytes(1 << 20))
    choose(page, big)
    verdict(page, timeout=180_000)
    ms = float(page.get_attribute("#progress", "data-ms"))
    check(page.get_attribute("#progress", "data-hash") == b3sum(big), "the page's BLAKE3 of 100 MiB equals b3sum's")
    print(f"  report: the page hashed 100 MiB in {ms / 1000:.2f} s in Chromium ({100 / (ms / 1000):.0f} MiB/s)")
    (SHOTS / "hash-100MiB.txt").write_text(f"{ms:.1f} ms\n")


def others(browser, base):
    print("a phone's viewport")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    p = phone.new_page()
    p.goto(base + "/")
    p.wait_for_selector("#log-result[data-size]")
    width = p.evaluate("document.documentElement.scrollWidth")
    check(width <= 390, f"no sideways scrolling at 390 px (content {width} px)")
    p.screenshot(path=str(SHOTS / "phone.png"), full_page=True)
    phone.close()

    print("without JavaScript")
    nojs = browser.new_context(java_script_enabled=False)
    p = nojs.new_page()
    p.goto(base + "/")
    body = p.inner_text("body")
    check("This page needs JavaScript" in body, "the page says it needs JavaScript")
    check("omninode-bridge verify --trust allowed_signers" in body, "and shows the CLI instead")
    p.screenshot(path=str(SHOTS / "no-javascript.png"), full_page=True)
    nojs.close()


if __name__ == "__main__":
    main()
    print(f"page-tests: all passed; screenshots in {SHOTS}")
