#!/usr/bin/env python3
"""The validator catches drift: each hand-made message or document below breaks the contract
in one way (and the real document passes)."""
import copy
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
cases.update({
    "a message its test marked off-contract is counted, not checked": ([
        {"topic": "shoal/v1/node/n1/hb", "payload": "garbage", "offContract": True}], 0),
    "the reply to an off-contract request is still checked": ([
        {"topic": "shoal/v1/api/jobs.get", "payload": "{", "responseTopic": "shoal/v1/reply/c", "offContract": True},
        {"topic": "shoal/v1/reply/c", "payload": json.dumps({"v": 1, "ok": True, "result": []})}], 1),
    "an unmatched reply is drift": ([
        {"topic": "shoal/v1/reply/c", "payload": json.dumps({"v": 1, "ok": True, "result": []}), "correlation": "01"}], 1),
    "unless its test marked the request off-contract (too large to record)": ([
        {"topic": "shoal/v1/reply/c", "payload": json.dumps({"v": 1, "ok": True, "result": []}),
         "correlation": b"off-contract-7".hex()}], 0),
    "a payload that is not UTF-8": ([
        {"topic": "shoal/v1/node/n1/hb", "payload": json.dumps(heartbeat), "notUTF8": True}], 1),
    "replies without Correlation Data match their requests in order": ([
        {"topic": "shoal/v1/api/jobs.get", "payload": json.dumps({"id": "x"}), "responseTopic": "shoal/v1/reply/c"},
        {"topic": "shoal/v1/api/nodes.list", "payload": "{}", "responseTopic": "shoal/v1/reply/c"},
        {"topic": "shoal/v1/reply/c", "payload": json.dumps({"v": 1, "ok": False, "error": "no job with id 'x'"})},
        {"topic": "shoal/v1/reply/c", "payload": json.dumps({"v": 1, "ok": True, "result": []})}], 0),
})
# The reply topic of the first result case is not under shoal/v1/reply: route it there.
cases["a result of the wrong shape"][0][0]["responseTopic"] = "shoal/v1/reply/c"
failed = 0
for name, (records, expected) in cases.items():
    failures, _ = validate.check_recording(contract, records, set())
    good = (len(failures) > 0) == (expected > 0)
    failed += not good
    print(("ok    " if good else "FAIL  ") + f"validator: {name}" + ("" if good else f": {failures}"))

def broken(change):
    document = copy.deepcopy(contract.document)
    change(document)
    return document


operation = next(iter(contract.document["operations"]))
documents = {
    "the real document passes": (contract.document, 0),
    "an AsyncAPI 2 action (publish)": (broken(lambda d: d["operations"][operation].update(action="publish")), 1),
    "info without a version": (broken(lambda d: d["info"].pop("version")), 1),
    "a channel address that is not a string": (broken(lambda d: d["channels"]["heartbeat"].update(address=5)), 1),
    "an operation on a channel the document lacks": (
        broken(lambda d: d["operations"][operation].update(channel={"$ref": "#/channels/nowhere"})), 1),
    "an address parameter not declared": (
        broken(lambda d: d["channels"]["heartbeat"].update(address="shoal/v1/node/{node}/{extra}/hb")), 1),
    "a schema that is no JSON Schema": (broken(lambda d: d["components"]["schemas"].update(Bad={"type": "objekt"})), 1),
}
for name, (document, expected) in documents.items():
    problems = validate.check_document(document)
    good = (len(problems) > 0) == (expected > 0)
    failed += not good
    print(("ok    " if good else "FAIL  ") + f"document: {name}" + ("" if good else f": {problems}"))
sys.exit(1 if failed else 0)
