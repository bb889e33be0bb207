"""Drivers that misbehave on purpose, for the runner's tests. Usage: misbehaving_driver.py MODE

crash    reads the first command and exits 3 without answering
hang     reads commands and never answers
babble   answers the first command with a line that is not JSON
leak     a fake that answers every call with a 200 and logs the API key to stderr (a leaking SDK)
exit1    a fake that answers every call with a 200, then exits 1 when stdin closes
orphan   starts a child that keeps stdout open (`sleep 301.25`), then never answers
flood    a fake that answers every call with a 200 after writing 20 MiB to stderr, no newline
fake     a fake that answers every call with a 200 without calling anything (an SDK that, in proxy
         mode, ignores HTTPS_PROXY looks like this to the runner)
escape   a fake that answers every call with a 200; at init it forks a child that leaves the
         driver's session (setsid) and sleeps holding stdout, and writes "escaped child PID" on
         stderr; the driver itself exits 0 when stdin closes
"""
import json
import os
import subprocess
import sys
import time

mode = sys.argv[1]
for line in sys.stdin:
    message = json.loads(line)
    if mode == "crash":
        print("driver: giving up", file=sys.stderr, flush=True)
        sys.exit(3)
    if mode == "hang":
        continue
    if mode == "orphan":
        subprocess.Popen(["sleep", "301.25"])
        continue
    if mode == "babble":
        print("hello, I am not a protocol line", flush=True)
        continue
    if mode == "flood" and message["op"] == "init":
        for _ in range(20):
            sys.stderr.write("x" * (1 << 20))
        sys.stderr.flush()
    if mode == "escape" and message["op"] == "init":
        child = os.fork()
        if child == 0:
            os.setsid()
            time.sleep(300)
            os._exit(0)
        print(f"escaped child {child}", file=sys.stderr, flush=True)
    if mode in ("leak", "exit1", "flood", "escape", "fake"):
        if message["op"] == "init":
            if mode == "leak":
                print("DEBUG alter_sdk: using key " + message["params"]["api_key"], file=sys.stderr, flush=True)
            result = {"sdk": "fake", "version": "0", "language": "python", "protocol": 1,
                      "capabilities": ["request", "list_grants", "revoke_grant", "close"]}
        else:
            result = {"status": 200, "headers": {}, "body": "", "json": None}
        print(json.dumps({"id": message["id"], "ok": True, "result": result}), flush=True)

if mode == "exit1":
    sys.exit(1)
