# What a real parser makes of each file, for the corpus test (tests/api/corpus.rs): one line
# per file, "ok <sha256 of the parse>" or "fail <why>". Run as: corpus_check.py MODE FILE...
#   py    Python's own parser (ast.dump; bytes in, so coding cookies count)
#   yaml  every document, PyYAML's safe loader
#   toml  tomllib
#   xml   canonical XML (C14N 2.0) without comments
import ast
import hashlib
import sys
import tomllib
import xml.etree.ElementTree as ET

import yaml


def parse(mode, path):
    data = open(path, "rb").read()
    if mode == "py":
        return ast.dump(ast.parse(data))
    if mode == "yaml":
        return repr(list(yaml.safe_load_all(data.decode("utf-8"))))
    if mode == "toml":
        return repr(tomllib.loads(data.decode("utf-8")))
    if mode == "xml":
        return ET.canonicalize(from_file=path, with_comments=False, strip_text=False)
    raise SystemExit(f"unknown mode {mode}")


mode = sys.argv[1]
for path in sys.argv[2:]:
    try:
        digest = hashlib.sha256(parse(mode, path).encode("utf-8")).hexdigest()
        print("ok", digest)
    except Exception as e:  # a file the parser refuses: reported, not raised
        print("fail", type(e).__name__, str(e).replace("\n", " ")[:200])
