#!/usr/bin/env python3
"""The validator catches drift: each hand-made message below breaks the contract in one way."""
import json
import os
import sys

sys.dont_write_bytecode = True
import validate  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
contract = validate.Contract(validate.load_document(os.path.join(HERE, "../../docs/asyncapi.yaml")))
heartbeat = {"v": 1, "node": "n1", "seq": 1, "uptime": 1, "running": 0, "sentAt": 1.0}
cases = {
    "a valid heartbeat passes": ([{"topic": "shoal/v1/node/n1/hb", "payload": json.dumps(heartbeat)}], 0),
    "an undocumented field": ([{"topic": "shoal/v1/node/n1/hb", "payload": json.dumps({**heartbeat, "extra": 1})}], 1),
    "a missing field": ([{"topic": "shoal/v1/node/n1/hb", "payload": json.dumps({**heartbeat, "seq": None})}], 1),
    "an unknown state": ([{"topic": "shoal/v1/node/n1/exec/j1/status", "payload": json.dumps(
        {"v": 1, "job": "j1", "node": "n1", "seq": 1, "state": "paused", "at": 1})}], 1),
    "a topic the document lacks": ([{"topic": "shoal/v1/node/n1/metrics", "payload": "{}"}], 1),
    "a result of the wrong shape": ([
        {"topic": "shoal/v1/api/jobs.get", "payload": json.dumps({"id": "x"}), "responseTopic": "r/c", "correlation": "01"},
        {"topic": "shoal/v1/reply/c", "payload": json.dumps({"v": 1, "ok": True, "result": []}), "correlation": "01"}], 1),
}
# The reply topic of the last case is not under shoal/v1/reply: route it there.
cases["a result of the wrong shape"][0][0]["responseTopic"] = "shoal/v1/reply/c"
failed = 0
for name, (records, expected) in cases.items():
    failures, _ = validate.check_recording(contract, records, set())
    good = (len(failures) > 0) == (expected > 0)
    failed += not good
    print(("ok    " if good else "FAIL  ") + f"validator: {name}" + ("" if good else f": {failures}"))
sys.exit(1 if failed else 0)
