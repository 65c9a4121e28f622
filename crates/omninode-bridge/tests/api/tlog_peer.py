"""A transparency log and witness client written for the tests only, from the C2SP texts
(signed-note, tlog-checkpoint, tlog-cosignature, tlog-witness) and RFC 6962, with pyca
`cryptography` for Ed25519 and ML-DSA-44. It shares no code with the bridge: it is the "log we
did not write" that our witness must serve, and the client that checks our witness's answers.

  tlog_peer.py log-key ORIGIN SEEDFILE       writes a log key seed, prints its vkey
  tlog_peer.py exercise URL ORIGIN SEEDFILE VKEY...
                                             runs every case of tlog-witness against the
                                             witness at URL, one JSON object a line
  tlog_peer.py after-restart URL ORIGIN SEEDFILE
                                             old 0 again: the witness must answer 409 with
                                             the size it kept
  tlog_peer.py witness LOGVKEY NAME ed25519|ml-dsa-44 STATEFILE REQUESTLOG
                                             a witness (tlog-witness) for the log LOGVKEY:
                                             prints its vkey, then "listening on URL"; keeps
                                             its state in STATEFILE and appends every
                                             request's old size and answer to REQUESTLOG
"""

import base64
import hashlib
import http.client
import json
import os
import struct
import sys
import threading
import urllib.parse

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa
from cryptography.exceptions import InvalidSignature

EM_DASH = "\u2014"


# RFC 6962 section 2.1: the Merkle Tree Hash, and consistency proofs (2.1.2, SUBPROOF).
def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hash(leaves[0])
    k = largest_power_of_two_below(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def subproof(m, leaves, b):
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def consistency_proof(m, leaves):
    if m == 0 or m == len(leaves):
        return []
    return subproof(m, leaves, True)


# RFC 9162 section 2.1.4.2: verifying a consistency proof.
def verify_consistency(first, second, first_hash, second_hash, proof):
    if first == 0 or first > second or not proof:
        return False
    if first & (first - 1) == 0:
        proof = [first_hash] + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_hash and sr == second_hash


# signed-note: key ids, vkeys, signing.
def key_id(name, sig_type, public):
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]


class Log:
    def __init__(self, origin, seed):
        self.origin = origin
        self.key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        self.public = self.key.public_key().public_bytes_raw()
        self.id = key_id(origin, 0x01, self.public)
        self.leaves = []

    def vkey(self):
        return "%s+%s+%s" % (
            self.origin,
            self.id.hex(),
            base64.b64encode(b"\x01" + self.public).decode(),
        )

    def append(self, n, tag="entry"):
        for _ in range(n):
            self.leaves.append(("%s %d\n" % (tag, len(self.leaves))).encode())

    def text(self, size=None, root=None):
        size = len(self.leaves) if size is None else size
        root = mth(self.leaves[:size]) if root is None else root
        return "%s\n%d\n%s\n" % (self.origin, size, base64.b64encode(root).decode())

    def sign(self, text):
        sig = self.key.sign(text.encode())
        return "%s\n%s %s %s\n" % (
            text,
            EM_DASH,
            self.origin,
            base64.b64encode(self.id + sig).decode(),
        )

    def checkpoint(self, size=None, root=None):
        return self.sign(self.text(size, root))


def body(old, proof, checkpoint):
    lines = ["old %d" % old] + [base64.b64encode(h).decode() for h in proof]
    return ("\n".join(lines) + "\n\n" + checkpoint).encode()


# tlog-cosignature: parse a witness vkey and verify its cosignature lines.
class WitnessKey:
    def __init__(self, vkey):
        name, kid, key = vkey.split("+", 2)
        raw = base64.b64decode(key)
        self.name = name
        self.type = raw[0]
        self.id = bytes.fromhex(kid)
        assert key_id(name, self.type, raw[1:]) == self.id, "vkey id"
        if self.type == 0x04:
            self.key = ed25519.Ed25519PublicKey.from_public_bytes(raw[1:])
        elif self.type == 0x06:
            self.key = mldsa.MLDSA44PublicKey.from_public_bytes(raw[1:])
        else:
            raise ValueError("not a cosignature key type: %d" % self.type)

    def verify(self, text, line):
        """Verifies one signature line over the checkpoint text; its timestamp or None if the
        line is not this key's."""
        assert line.startswith(EM_DASH + " "), line
        name, sig = line[2:].split(" ")
        blob = base64.b64decode(sig)
        if name != self.name or blob[:4] != self.id:
            return None
        (ts,) = struct.unpack(">Q", blob[4:12])
        sig = blob[12:]
        if self.type == 0x04:
            msg = ("cosignature/v1\ntime %d\n" % ts + text).encode()
        else:
            origin, size, root = text.split("\n")[:3]
            msg = (
                b"subtree/v1\n\x00"
                + bytes([len(self.name)])
                + self.name.encode()
                + struct.pack(">Q", ts)
                + bytes([len(origin)])
                + origin.encode()
                + struct.pack(">QQ", 0, int(size))
                + base64.b64decode(root)
            )
        self.key.verify(sig, msg)  # raises InvalidSignature
        return ts


class Witness:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.prefix = u.hostname, u.port, u.path.rstrip("/")
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def post(self, payload, conn=None):
        c = conn or self.conn
        c.request("POST", self.prefix + "/add-checkpoint", body=payload)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()

    def get(self, path):
        self.conn.request("GET", self.prefix + path)
        r = self.conn.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()


def out(case, status, ctype, text, **extra):
    print(json.dumps(dict(case=case, status=status, content_type=ctype, body=text, **extra)))
    sys.stdout.flush()


def verify_all(keys, text, lines):
    """Which of `keys` cosigned (every line of a known key must verify)."""
    seen = {}
    for line in lines:
        for k in keys:
            try:
                ts = k.verify(text, line)
            except InvalidSignature:
                return None
            if ts is not None:
                seen["%s/%d" % (k.name, k.type)] = ts
    return seen


def exercise(url, origin, seed, vkeys):
    log = Log(origin, seed)
    keys = [WitnessKey(v) for v in vkeys]
    w = Witness(url)

    # 404: an origin the witness does not know.
    stranger = Log("stranger.example/log", os.urandom(32))
    stranger.append(3)
    out("unknown-origin", *w.post(body(0, [], stranger.checkpoint())))

    # 403: the right origin, a key the witness does not trust.
    log.append(5)
    imposter = Log(origin, os.urandom(32))
    imposter.leaves = list(log.leaves)
    out("untrusted-key", *w.post(body(0, [], imposter.checkpoint())))

    # 400: an old size above the checkpoint's.
    out("old-too-large", *w.post(body(6, [], log.checkpoint())))

    # 400: not the protocol.
    out("malformed", *w.post(b"old 0\nthis is not base64\n\n" + log.checkpoint().encode()))

    # 422: an empty tree with the wrong root.
    out("empty-wrong-root", *w.post(body(0, [], log.checkpoint(0, b"\x07" * 32))))

    # 200: first contact, old 0; every cosignature verifies with the witness's keys.
    text = log.text()
    status, ctype, answer = w.post(body(0, [], log.checkpoint()))
    lines = [l for l in answer.split("\n") if l]
    out("first", status, ctype, answer, cosigned=verify_all(keys, text, lines))

    # 409 with text/x.tlog.size: a stale old size.
    log.append(3)
    out("stale-old", *w.post(body(0, [], log.checkpoint())))

    # 422: a consistency proof that does not verify.
    proof = consistency_proof(5, log.leaves)
    bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:]] + proof[1:]
    out("bad-proof", *w.post(body(5, bad, log.checkpoint())))

    # 409: the same size with another root.
    out("same-size-other-root", *w.post(body(5, [], log.checkpoint(5, b"\x09" * 32))))

    # 200: growth 5 -> 8 with the right proof.
    text = log.text()
    status, ctype, answer = w.post(body(5, proof, log.checkpoint()))
    lines = [l for l in answer.split("\n") if l]
    out("grow", status, ctype, answer, cosigned=verify_all(keys, text, lines))

    # 8 concurrent submissions from 8 to 12: the check and the write are one atomic step,
    # so exactly one is cosigned.
    log.append(4)
    payload = body(8, consistency_proof(8, log.leaves), log.checkpoint())
    results = [None] * 8
    barrier = threading.Barrier(8)

    def submit(i):
        conn = http.client.HTTPConnection(w.host, w.port, timeout=30)
        barrier.wait()
        results[i] = w.post(payload, conn)[0]

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out("concurrent", 0, "", "", statuses=results)

    # The monitoring route: the latest cosigned checkpoint, signed by the log and cosigned.
    path = "/%s/checkpoint" % hashlib.sha256(origin.encode()).hexdigest()
    status, ctype, note = w.get(path)
    text, _, sigs = note.rpartition("\n\n")
    text += "\n"
    lines = [l for l in sigs.split("\n") if l]
    log_signed = False
    for line in lines:
        name, sig = line[2:].split(" ")
        blob = base64.b64decode(sig)
        if name == origin and blob[:4] == log.id:
            log.key.public_key().verify(blob[4:], text.encode())
            log_signed = True
    out(
        "monitoring",
        status,
        ctype,
        note,
        size=int(text.split("\n")[1]),
        log_signed=log_signed,
        cosigned=verify_all(keys, text, [l for l in lines if not l[2:].startswith(origin + " ")]),
    )


# tlog-witness, the witness side, with tlog-cosignature's two signature types.
class PeerWitness:
    def __init__(self, log_vkey, name, alg, state_file, request_log):
        origin, kid, key = log_vkey.split("+", 2)
        raw = base64.b64decode(key)
        assert raw[0] == 0x01 and key_id(origin, 0x01, raw[1:]) == bytes.fromhex(kid)
        self.origin, self.log_id = origin, bytes.fromhex(kid)
        self.log_key = ed25519.Ed25519PublicKey.from_public_bytes(raw[1:])
        self.name, self.alg = name, alg
        seed = os.urandom(32)
        if alg == "ed25519":
            self.key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
            self.type = 0x04
            self.public = self.key.public_key().public_bytes_raw()
        else:
            self.key = mldsa.MLDSA44PrivateKey.from_seed_bytes(seed)
            self.type = 0x06
            from cryptography.hazmat.primitives import serialization as ser
            self.public = self.key.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
        self.id = key_id(name, self.type, self.public)
        self.state_file, self.request_log = state_file, request_log
        self.lock = threading.Lock()
        self.state = None  # (size, root)
        if os.path.exists(state_file):
            with open(state_file) as f:
                st = json.load(f)
            self.state = (st["size"], base64.b64decode(st["root"]))

    def vkey(self):
        return "%s+%s+%s" % (self.name, self.id.hex(), base64.b64encode(bytes([self.type]) + self.public).decode())

    def cosign(self, text, size, root):
        ts = int(__import__("time").time())
        if self.type == 0x04:
            sig = self.key.sign(("cosignature/v1\ntime %d\n" % ts + text).encode())
        else:
            msg = (
                b"subtree/v1\n\x00" + bytes([len(self.name)]) + self.name.encode()
                + struct.pack(">Q", ts) + bytes([len(self.origin)]) + self.origin.encode()
                + struct.pack(">QQ", 0, size) + root
            )
            sig = self.key.sign(msg)
        blob = self.id + struct.pack(">Q", ts) + sig
        return "%s %s %s\n" % (EM_DASH, self.name, base64.b64encode(blob).decode())

    def add(self, body):
        """(status, content type, answer) for one add-checkpoint body."""
        try:
            head, _, note = body.partition("\n\n")
            lines = head.split("\n")
            assert lines[0].startswith("old ")
            old = int(lines[0][4:])
            proof = [base64.b64decode(l) for l in lines[1:]]
            text, _, sigs = note.rpartition("\n\n")
            text += "\n"
            origin, size, root = text.split("\n")[:3]
            size, root = int(size), base64.b64decode(root)
        except Exception as e:  # noqa: BLE001 - anything unreadable is a 400
            return 400, "text/plain", "bad request: %s\n" % e, None
        if origin != self.origin:
            return 404, "text/plain", "unknown log\n", old
        signed = False
        for line in sigs.split("\n"):
            if not line:
                continue
            name, sig = line[2:].split(" ")
            blob = base64.b64decode(sig)
            if name == self.origin and blob[:4] == self.log_id:
                try:
                    self.log_key.verify(blob[4:], text.encode())
                    signed = True
                except InvalidSignature:
                    pass
        if not signed:
            return 403, "text/plain", "not signed by the log\n", old
        if old > size:
            return 400, "text/plain", "old size above the checkpoint's\n", old
        with self.lock:
            latest = self.state[0] if self.state else 0
            if old != latest:
                return 409, "text/x.tlog.size", "%d\n" % latest, old
            if old == 0:
                ok = not proof and (size > 0 or root == hashlib.sha256(b"").digest())
            elif old == size:
                if root != self.state[1]:
                    return 409, "text/plain", "same size, other root\n", old
                ok = not proof
            else:
                ok = verify_consistency(old, size, self.state[1], root, proof)
            if not ok:
                return 422, "text/plain", "inconsistent\n", old
            self.state = (size, root)
            with open(self.state_file + ".tmp", "w") as f:
                json.dump({"size": size, "root": base64.b64encode(root).decode()}, f)
            os.replace(self.state_file + ".tmp", self.state_file)
            return 200, "text/plain", self.cosign(text, size, root), old

    def serve(self):
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n).decode()
                if self.path != "/add-checkpoint":
                    status, ctype, answer, old = 404, "text/plain", "no such route\n", None
                else:
                    status, ctype, answer, old = peer.add(body)
                with peer.lock:
                    with open(peer.request_log, "a") as f:
                        f.write(json.dumps({"old": old, "status": status}) + "\n")
                data = answer.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        print(self.vkey())
        print("listening on http://127.0.0.1:%d" % server.server_address[1])
        sys.stdout.flush()
        server.serve_forever()


def main():
    cmd = sys.argv[1]
    if cmd == "log-key":
        origin, seed_file = sys.argv[2], sys.argv[3]
        seed = os.urandom(32)
        with open(seed_file, "wb") as f:
            f.write(seed)
        print(Log(origin, seed).vkey())
    elif cmd == "exercise":
        url, origin, seed_file = sys.argv[2:5]
        with open(seed_file, "rb") as f:
            seed = f.read()
        exercise(url, origin, seed, sys.argv[5:])
    elif cmd == "after-restart":
        url, origin, seed_file = sys.argv[2:5]
        with open(seed_file, "rb") as f:
            log = Log(origin, f.read())
        log.append(20)
        out("after-restart", *Witness(url).post(body(0, [], log.checkpoint())))
    elif cmd == "witness":
        log_vkey, name, alg, state_file, request_log = sys.argv[2:7]
        PeerWitness(log_vkey, name, alg, state_file, request_log).serve()
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
