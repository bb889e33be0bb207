"""A driver for RunCommandTests: answers init and close, nothing else. The second process to
be started waits (at most 20 s) for a gate file before it answers init, so that a test can
look at what the runner printed while the run is certainly still going; if the gate never
opens, it refuses init (and the run ends with exit 3).

Run as: python3 gate_driver.py GATE_FILE"""
import json
import os
import sys
import time

gate = sys.argv[1]
counter = gate + ".starts"
with open(counter, "a") as f:
    f.write("x")
with open(counter) as f:
    starts = len(f.read())

for line in sys.stdin:
    message = json.loads(line)
    if message["op"] == "init" and starts >= 2:
        deadline = time.monotonic() + 20
        while not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not os.path.exists(gate):
            print(json.dumps({"id": message["id"], "ok": False, "protocol_error": "the gate never opened"}), flush=True)
            continue
    result = {"sdk": "gate", "version": "0", "capabilities": []} if message["op"] == "init" else {}
    print(json.dumps({"id": message["id"], "ok": True, "result": result}), flush=True)
