# ---BEGIN ONEX STAMP---
# metadata_version: 0.1
# stamp_id: 01a233d5-1218-73b7-ac01-6abe2afa49a0
# file_hash: blake3:75f20dd86fc454a285b24166c9fd52bd2eb6b434129b6dd1050c7f4d30803bbb
# namespace: fuzx
# content_type: text/x-python
# file_size: 9
# file_path: a.py
# created_at: 2026-12-01T22:58:51.544Z
# key: SHA256:2wXSrjH7PZ9fszI45n+tEQ0zFQWNQ4Dr+OM0T3SKlWM
# signature: U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgDhe5lTCqPA9KmY2FJ+6KGC0gH3optV2qkeU/BDltKRYAAAARb21uaW5vZGUtc3RhbXAtdjEAAAAAAAAABnNoYTUxMgAAAFMAAAALc3NoLWVkMjU1MTkAAABAuszAbI5mbuGRvhQzhPvIEkn/XzVl0f3eQvqOXZqH3O4I7ID99yI/vh9Spsopked7QAPgR1YdGGx/YXSRTG0JCQ==
# ---END ONEX STAMP---
print(1)
