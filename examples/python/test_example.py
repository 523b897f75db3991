#!/usr/bin/env python3
"""The example's test, against a running local fleet (`shoal up --agents 3`).

    test_example.py HOST:PORT SHOAL_BINARY INVALID_OUT

Runs run_job.py as a user would and checks its per-node results against
`shoal jobs show -o json`; sends a malformed request, an unknown operation and a bad
selector and checks each documented error reply. Writes the payloads it sent on purpose
against the contract to INVALID_OUT (one JSON string a line) for scripts/contract/validate.py.
"""
import json
import os
import subprocess
import sys

from shoal_api import ShoalAPI

HERE = os.path.dirname(os.path.abspath(__file__))
FAILURES = []


def check(condition, what):
    print(("ok    " if condition else "FAIL  ") + what, flush=True)
    if not condition:
        FAILURES.append(what)


def run_example(broker, *arguments):
    return subprocess.run([sys.executable, os.path.join(HERE, "run_job.py"), "--broker", broker, *arguments],
                          capture_output=True, text=True, timeout=120)


def shoal_show(shoal, job):
    shown = subprocess.run([shoal, "jobs", "show", job, "-o", "json"], capture_output=True, text=True, timeout=60)
    if shown.returncode != 0:
        raise RuntimeError(f"shoal jobs show {job} exited {shown.returncode}: {shown.stderr}")
    return json.loads(shown.stdout)


def compare_with_cli(shoal, job, results):
    detail = shoal_show(shoal, job)
    expected = {e["node"]: {"state": e["state"], "exitCode": e.get("exitCode"), "stdout": e.get("stdout", ""),
                            "stderr": e.get("stderr", "")} for e in detail["executions"]}
    check(results == expected, f"{job}: the example's per-node results equal `shoal jobs show -o json`"
          + ("" if results == expected else f"\n      example: {results}\n      shoal:   {expected}"))
    return detail


def main(broker, shoal, invalid_out):
    host, _, port = broker.rpartition(":")

    # A selector that picks two of the three nodes; every node echoes its id.
    ran = run_example(broker, "--json", "--id", "py-example-1", "--selector", "region=eu",
                      "--shell", "echo hello from $SHOAL_NODE_ID")
    check(ran.returncode == 0, f"run on region=eu exits 0 (got {ran.returncode}; stderr: {ran.stderr[-500:]})")
    results = json.loads(ran.stdout)["results"] if ran.returncode == 0 else {}
    check(sorted(results) == ["node-01", "node-02"], f"region=eu ran on node-01 and node-02 (got {sorted(results)})")
    check(all(r["stdout"] == f"hello from {node}\n" for node, r in results.items()),
          "each node's output is its own greeting")
    check("[node-01] running" in ran.stderr or "[node-01] succeeded" in ran.stderr,
          "the example printed node-01's progress from the job's events")
    compare_with_cli(shoal, "py-example-1", results)

    # Every node; node-02 fails: the example exits 1 and says which.
    ran = run_example(broker, "--json", "--id", "py-example-2", "--all", "--shell",
                      'echo "on $SHOAL_NODE_ID"; [ "$SHOAL_NODE_ID" != node-02 ] || exit 3')
    check(ran.returncode == 1, f"a failing node makes the example exit 1 (got {ran.returncode})")
    results = json.loads(ran.stdout)["results"] if ran.stdout else {}
    check(results.get("node-02", {}).get("state") == "failed" and results["node-02"]["exitCode"] == 3,
          "node-02 is failed with exit code 3")
    check(all(results.get(n, {}).get("state") == "succeeded" for n in ("node-01", "node-03")),
          "node-01 and node-03 succeeded")
    compare_with_cli(shoal, "py-example-2", results)

    # Table output, as a person would run it.
    ran = run_example(broker, "--selector", "role=db", "--", "uname", "-s")
    check(ran.returncode == 0 and "node-03" in ran.stdout and "succeeded" in ran.stdout,
          f"the table lists node-03 succeeded (exit {ran.returncode}):\n{ran.stdout}")

    # A selector nothing matches: exit 2.
    ran = run_example(broker, "--selector", "region=mars", "--", "true")
    check(ran.returncode == 2, f"no matching node exits 2 (got {ran.returncode})")

    # A bad selector through the example: the dispatcher's error, exit 64.
    ran = run_example(broker, "--selector", "region=eu,,", "--", "true")
    check(ran.returncode == 64 and "invalid selector" in ran.stderr,
          f"a bad selector exits 64 with the dispatcher's error (got {ran.returncode}: {ran.stderr.strip()})")

    # The documented error replies, straight through the API.
    malformed = '{"selector": "role=web", "task": '
    unknown = '{"probe": "an operation that does not exist"}'
    with ShoalAPI(host, int(port)) as api:
        reply = api.request("jobs.submit", None, raw=malformed.encode())
        check(reply.get("ok") is False and reply.get("error", "").startswith("SubmitJobRequest: malformed"),
              f"malformed JSON: {reply}")
        reply = api.request("jobs.delete", None, raw=unknown.encode())
        check(reply.get("ok") is False and reply.get("error", "").startswith("unknown operation 'jobs.delete'; known: jobs.submit"),
              f"unknown operation: {reply}")
        reply = api.request("jobs.submit", {"selector": "region=eu,,", "task": {"kind": "exec", "argv": ["true"]}})
        error = reply.get("error", "")
        check(reply.get("ok") is False and error.startswith("invalid selector") and "^" in error,
              f"bad selector, with its position and caret: {reply}")
        reply = api.request("jobs.get", {"job": "py-example-1"})
        check(reply == {"v": 1, "ok": False, "error": "GetJobRequest: missing field 'id'"},
              f"missing field: {reply}")
        reply = api.request("jobs.submit", {"task": {"kind": "exec", "argv": ["true"]}})
        check(reply.get("ok") is False and reply.get("error", "").startswith("empty selector:"),
              f"empty selector without all: {reply}")
    with open(invalid_out, "w", encoding="utf-8") as file:
        for payload in (malformed, unknown, json.dumps({"job": "py-example-1"}),
                        json.dumps({"task": {"kind": "exec", "argv": ["true"]}})):
            file.write(json.dumps(payload) + "\n")

    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
