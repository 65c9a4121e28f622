#!/bin/sh
# ---BEGIN ONEX STAMP---
# metadata_version: 0.1
# stamp_id: 01a233d5-1265-70eb-a3db-d8b10c3e6fcb
# file_hash: blake3:03523407240ea5cef426092323c4ee3777ec5bf61d3376de845e3754f5077771
# namespace: fuzz
# content_type: text/x-shellscript
# file_size: 17
# file_path: a.sh
# created_at: 2026-12-01T22:58:51.621Z
# key: SHA256:2wXSrjH7PZ9fszI45n+tEQ0zFQWNQ4Dr+OM0T3SKlWM
# signature: U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgDhe5lTCqPA9KmY2FJ+6KGC0gH3optV2qkeU/BDltKRYAAAARb21uaW5vZGUtc3RhbXAtdjEAAAAAAAAABnNoYTUxMgAAAFMAAAALc3NoLWVkMjU1MTkAAABALlcZ7AJpxraXmTxsZJ37qQZDXG9NU19kpxH0041Cs2TawOv6DUYodh4O/+dUU4Y0upfzJijsYZfObAbwHEVMDg==
# ---END ONEX STAMP---
echo hi