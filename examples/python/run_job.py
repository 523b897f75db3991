#!/usr/bin/env python3
"""Runs a command on the Shoal nodes a selector picks, over MQTT only (no `shoal` CLI).

    run_job.py --broker 127.0.0.1:1883 --selector 'role=web' -- uname -a
    run_job.py --broker 127.0.0.1:1883 --all --shell 'echo hello from $SHOAL_NODE_ID'

Subscribes to the job's events and live output, submits the job (`jobs.submit`), prints
each node's state changes and output as they come, then each node's result from
`jobs.get`. Exit status: 0 every node succeeded, 1 some node did not, 2 no node matched,
64 the dispatcher refused the request (its error is printed), 69 no broker or dispatcher.
"""
import argparse
import json
import sys
import threading
import uuid

from shoal_api import ShoalAPI, Unavailable

TERMINAL = {"succeeded", "failed", "timed_out", "canceled", "rejected", "unreachable", "skipped"}


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT of the MQTT broker")
    parser.add_argument("--prefix", default="shoal/v1", help="topic prefix of the fleet")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--selector", help="label selector, e.g. 'region=eu,role=web'")
    target.add_argument("--all", action="store_true", help="every node")
    parser.add_argument("--shell", help="a script for /bin/sh -c instead of an argv")
    parser.add_argument("--id", help="job id (default: a random one)")
    parser.add_argument("--timeout", type=float, default=60, help="per-node time limit, seconds")
    parser.add_argument("--json", action="store_true", help="print the per-node results as one JSON object")
    parser.add_argument("argv", nargs="*", help="the command and its arguments (after --)")
    arguments = parser.parse_args(argv)
    if bool(arguments.shell) == bool(arguments.argv):
        parser.error("give either --shell SCRIPT or a command after --")
    host, _, port = arguments.broker.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        parser.error(f"--broker: expected HOST:PORT, got {arguments.broker!r}")
    arguments.host, arguments.port = host, int(port)
    return arguments


class JobFollower:
    """Collects a job's events; done once every expected node is terminal."""

    def __init__(self, out):
        self.out = out
        self.lock = threading.Lock()
        self.states = {}
        self.expected = None
        self.finished = threading.Event()

    def on_event(self, topic, event, raw):
        if event is None:
            return
        with self.lock:
            for execution in event.get("executions", []):
                node, state = execution["node"], execution["state"]
                if self.states.get(node) != state:
                    detail = f" exit {execution['exitCode']}" if "exitCode" in execution else ""
                    reason = f" ({execution['reason']})" if "reason" in execution else ""
                    print(f"[{node}] {state}{detail}{reason}", file=self.out, flush=True)
                self.states[node] = state
            self.check()

    def on_output(self, topic, chunk, raw):
        if chunk is None:
            return
        for line in chunk.get("data", "").splitlines():
            print(f"[{chunk['node']}] {chunk['stream']}: {line}", file=self.out, flush=True)

    def expect(self, count, executions):
        with self.lock:
            self.expected = count
            for execution in executions:
                self.states.setdefault(execution["node"], execution["state"])
            self.check()

    def check(self):
        if self.expected is not None and sum(state in TERMINAL for state in self.states.values()) >= self.expected:
            self.finished.set()


def main(argv):
    arguments = parse_arguments(argv)
    job = arguments.id or f"py-{uuid.uuid4().hex[:16]}"
    task = {"kind": "shell", "script": arguments.shell} if arguments.shell else {"kind": "exec", "argv": arguments.argv}
    request = {"id": job, "selector": arguments.selector or "", "all": arguments.all, "task": task,
               "timeout": arguments.timeout}
    # Progress goes to stderr with --json, so that stdout is the results alone.
    progress = sys.stderr if arguments.json else sys.stdout
    follower = JobFollower(progress)
    try:
        with ShoalAPI(arguments.host, arguments.port, prefix=arguments.prefix) as api:
            # Subscribe first: events are not retained, and a quick job is over in milliseconds.
            api.subscribe(f"{api.prefix}/events/job/{job}", follower.on_event)
            # Live output is below the API (agents' reports): reading it is harmless.
            api.subscribe(f"{api.prefix}/node/+/exec/{job}/out", follower.on_output)
            reply = api.request("jobs.submit", request)
            if not reply.get("ok"):
                print(f"error: {reply.get('error')}", file=sys.stderr)
                return 64
            detail = reply["result"]
            expected = detail["job"]["expected"]
            print(f"job {job}: {expected} node(s) expected", file=progress, flush=True)
            if expected == 0:
                print("no node matched the selector", file=sys.stderr)
                return 2
            follower.expect(expected, detail["executions"])
            # Events can be lost to a dispatcher restart: ask for the job every few seconds too.
            while not follower.finished.wait(5):
                current = api.request("jobs.get", {"id": job, "withOutput": False})
                if current.get("ok") and current["result"]["job"].get("finishedAt") is not None:
                    break
            final = api.request("jobs.get", {"id": job, "withOutput": True})
    except Unavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 69
    if not final.get("ok"):
        print(f"error: {final.get('error')}", file=sys.stderr)
        return 1
    executions = final["result"]["executions"]
    results = {e["node"]: {"state": e["state"], "exitCode": e.get("exitCode"), "stdout": e.get("stdout", ""),
                           "stderr": e.get("stderr", "")} for e in executions}
    if arguments.json:
        print(json.dumps({"job": job, "results": results}, sort_keys=True))
    else:
        print(f"{'NODE':<20} {'STATE':<12} EXIT")
        for node, result in sorted(results.items()):
            code = "" if result["exitCode"] is None else result["exitCode"]
            print(f"{node:<20} {result['state']:<12} {code}")
    return 0 if all(result["state"] == "succeeded" for result in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
