#!/usr/bin/env python3
"""Checks docs/asyncapi.yaml, then checks recorded MQTT messages against it.

    validate.py DOC                      the document alone
    validate.py DOC RECORDING... [--expect-invalid FILE] [--require-every-channel [--except CHANNEL,...]]

The document: pydantic-asyncapi (PyPI; the AsyncAPI 3 object model: every object's
fields, their types, the enumerations such as an operation's `action`) accepts it; and
our own checks: every `$ref` resolves, every operation names a channel of the document,
every channel declares the parameters of its address, every schema is a valid JSON
Schema (draft 7, `jsonschema`'s own meta-schema check), and, when ASYNCAPI_SCHEMA names
the official AsyncAPI 3.0.0 JSON Schema (asyncapi/spec-json-schemas,
schemas/3.0.0-without-$id.json), the whole document against it.

A RECORDING is a file of JSON lines, one per message seen on `shoal/v1/#`, or a
directory of such files (`*.jsonl`, one per test and broker: the Swift suite's, see
ShoalTestSupport/ContractRecording.swift); each file is one broker's traffic. A line:
{"topic", "payload" (text), "responseTopic", "correlation" (hex)}, and
"offContract": true on a message its test published against the contract on purpose
(garbage, extremes, forgeries: marked by the test itself with an MQTT user property),
which is counted, not checked. Each other payload is checked against the schema of the
channel its topic matches, with every object closed (`additionalProperties: false` on
each `type: object` that lists properties and says nothing), so an undocumented field is
drift. A reply's `result` is checked against the `x-shoal-result` of the operation its
request named (matched by Response Topic and Correlation Data, within the same file).

--expect-invalid FILE lists payloads (one JSON string per line) that the test sent on
purpose against the contract: each must fail its schema, and nothing else may.
--require-every-channel fails when a channel of the document saw no message, so that a
topic the workload stopped exercising does not pass unnoticed; `--except` names channels
the workload cannot reach (a fleet without the secure profile has no enrollment). Exits 1 on any failure,
printing each one.
"""
import copy
import json
import os
import re
import sys

import jsonschema
import yaml


def load_document(path):
    with open(path, encoding="utf-8") as file:
        return yaml.safe_load(file)


def pointer(document, ref):
    if not ref.startswith("#/"):
        raise KeyError(f"only local references are used: {ref}")
    node = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def walk_refs(node, path="#"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield path, value
            else:
                yield from walk_refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk_refs(value, f"{path}/{index}")


def closed(schema):
    """The schema with every object that lists properties closed to other fields."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


def check_with_pydantic_asyncapi(document):
    """The AsyncAPI 3 object model of pydantic-asyncapi; its errors, one line each."""
    try:
        import pydantic
        from pydantic_asyncapi.v3 import AsyncAPI
    except ImportError as error:
        return [f"pydantic-asyncapi is not installed ({error}): pip install pydantic-asyncapi"]
    try:
        AsyncAPI.model_validate(document)
    except pydantic.ValidationError as error:
        return [f"pydantic-asyncapi: at {'.'.join(map(str, problem['loc']))}: {problem['msg']}"
                for problem in error.errors()]
    return []


def check_document(document):
    problems = check_with_pydantic_asyncapi(document)
    if problems:
        return problems  # the checks below assume the shape pydantic-asyncapi holds it to
    if document.get("asyncapi") != "3.0.0":
        problems.append(f"asyncapi: expected 3.0.0, found {document.get('asyncapi')!r}")
    for path, ref in walk_refs(document):
        try:
            pointer(document, ref)
        except (KeyError, TypeError) as error:
            problems.append(f"{path}: $ref {ref} does not resolve ({error})")
    channels = document.get("channels", {})
    for name, operation in document.get("operations", {}).items():
        ref = operation.get("channel", {}).get("$ref", "")
        if not ref.startswith("#/channels/") or ref[len("#/channels/"):] not in channels:
            problems.append(f"operations.{name}: channel {ref!r} is not a channel of the document")
        if operation.get("action") not in ("send", "receive"):
            problems.append(f"operations.{name}: action must be send or receive")
    for name, channel in channels.items():
        parameters = set(re.findall(r"{([^}]+)}", channel.get("address", "")))
        if parameters != set(channel.get("parameters", {})):
            problems.append(f"channels.{name}: address parameters {sorted(parameters)} "
                            f"differ from the declared {sorted(channel.get('parameters', {}))}")
        if not channel.get("messages"):
            problems.append(f"channels.{name}: no messages")
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        try:
            jsonschema.Draft7Validator.check_schema(schema)
        except jsonschema.SchemaError as error:
            problems.append(f"components.schemas.{name}: not a valid JSON Schema: {error.message}")
    official = os.environ.get("ASYNCAPI_SCHEMA")
    if official:
        with open(official, encoding="utf-8") as file:
            validator = jsonschema.Draft7Validator(json.load(file))
        for error in validator.iter_errors(document):
            problems.append(f"AsyncAPI 3.0.0 schema: at {list(error.path)}: {error.message[:300]}")
    return problems


class Contract:
    def __init__(self, document):
        self.document = document
        self.routes = []  # (regex, channel name, operation name or None)
        for name, channel in document["channels"].items():
            address = channel["address"]
            if name == "api":
                # One route per operation: its name is the last level.
                for operation in channel["messages"]:
                    topic = address.replace("{operation}", operation)
                    self.routes.append((self.pattern(topic), name, operation))
            else:
                self.routes.append((self.pattern(address), name, None))

    @staticmethod
    def pattern(address):
        escaped = re.escape(address).replace(r"\{", "{").replace(r"\}", "}")
        return re.compile("^" + re.sub(r"{[^}]+}", "[^/]+", escaped) + "$")

    def route(self, topic):
        for regex, channel, operation in self.routes:
            if regex.match(topic):
                return channel, operation
        return None, None

    def schema(self, node):
        """A standalone schema: `node` with the document's components alongside for `$ref`."""
        schema = closed(node)
        schema["components"] = closed(self.document["components"])
        return schema

    def message_schemas(self, channel, operation):
        messages = self.document["channels"][channel]["messages"]
        if operation is not None:
            return [self.resolve(messages[operation])]
        return [self.resolve(message) for message in messages.values()]

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            node = pointer(self.document, node["$ref"])
        return node

    def errors(self, schema, value):
        validator = jsonschema.Draft7Validator(self.schema(schema))
        return [f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message[:200]}"
                for error in validator.iter_errors(value)]


def correlation_text(record):
    """The Correlation Data as text, when it is text."""
    try:
        return bytes.fromhex(record.get("correlation") or "").decode("utf-8")
    except ValueError:
        return ""


def redacted(text):
    """`text` with the value of every `secret` field hidden: drift output is a log."""
    text = re.sub(r'("secret"\s*:\s*")[^"]*"', r'\1(redacted)"', text)
    text = re.sub(r"'secret': '[^']*'", "'secret': '(redacted)'", text)
    return re.sub(r"^(secret: ).*", r"\1(value redacted)", text)


def check_recording(contract, records, expect_invalid, invalid_seen=None):
    """One broker's messages, in order. Adds the expected-invalid payloads it met to
    `invalid_seen`; returns (failures, messages per channel)."""
    # Requests waiting for their reply, per (reply topic, correlation): a queue, because a
    # client may send several without Correlation Data, and the dispatcher answers in order.
    failures, seen, pending = [], {}, {}
    invalid_seen = set() if invalid_seen is None else invalid_seen
    gap = False  # the recorder lost its connection (a broker restart): requests may be missing
    for record in records:
        if record.get("connectionLost"):
            gap = True
            continue
        topic, text = record["topic"], record["payload"]
        if record.get("offContract"):
            # Not checked itself; but the dispatcher's reply to it is, as that operation's.
            seen["(off contract)"] = seen.get("(off contract)", 0) + 1
            channel, operation = contract.route(topic)
            if channel == "api" and record.get("responseTopic"):
                pending.setdefault((record["responseTopic"], record.get("correlation")), []).append(operation)
            continue
        if record.get("notUTF8"):
            failures.append(f"{topic}: the payload is not UTF-8: {redacted(text)[:200]}")
            continue
        channel, operation = contract.route(topic)
        if channel is None:
            if text in expect_invalid:
                invalid_seen.add(text)
            else:
                failures.append(f"{topic}: no channel of the document matches this topic")
            continue
        seen[channel] = seen.get(channel, 0) + 1
        requested = None
        if channel == "api" and record.get("responseTopic"):
            pending.setdefault((record["responseTopic"], record.get("correlation")), []).append(operation)
        elif channel == "reply":
            waiting = pending.get((topic, record.get("correlation")))
            requested = waiting.pop(0) if waiting else None
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as error:
            if text in expect_invalid:
                invalid_seen.add(text)
            else:
                failures.append(f"{topic}: not JSON ({error}): {redacted(text)[:200]}")
            continue
        problems = []
        for message in contract.message_schemas(channel, operation):
            problems = contract.errors(message["payload"], payload)
            if not problems:
                break
        if channel == "reply" and not problems and payload.get("ok"):
            if requested is None and correlation_text(record).startswith("off-contract"):
                # A test's own request, too large for the recorder (ContractRecording.largestRecorded).
                seen["(reply to an unrecorded off-contract request)"] = seen.get("(reply to an unrecorded off-contract request)", 0) + 1
            elif requested is None and gap:
                seen["(reply after a recorder reconnect, unmatched)"] = seen.get("(reply after a recorder reconnect, unmatched)", 0) + 1
            elif requested is None:
                failures.append(f"{topic}: a reply to no recorded request (correlation {record.get('correlation')})")
            else:
                result = contract.message_schemas("api", requested)[0]["x-shoal-result"]
                problems = [f"result of {requested}: {problem}"
                            for problem in contract.errors(result, payload["result"])]
        if text in expect_invalid:
            invalid_seen.add(text)
            if not problems:
                failures.append(f"{topic}: sent as invalid, but the schema accepts it: {redacted(text)[:200]}")
        elif problems:
            failures.append(f"{topic}: {redacted(text)[:300]}\n    " + "\n    ".join(redacted(p) for p in problems))
    return failures, seen


def recording_files(paths):
    """Each argument is a JSON-lines file or a directory of them; one file per broker."""
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if name.endswith(".jsonl"):
                    yield os.path.join(path, name)
        else:
            yield path


def main(arguments):
    require_every_channel = "--require-every-channel" in arguments
    arguments = [argument for argument in arguments if argument != "--require-every-channel"]
    not_required = set()
    if "--except" in arguments:
        index = arguments.index("--except")
        if index + 1 >= len(arguments):
            print(__doc__, file=sys.stderr)
            return 64
        not_required = set(arguments[index + 1].split(","))
        del arguments[index:index + 2]
    expect_invalid = set()
    if "--expect-invalid" in arguments:
        index = arguments.index("--expect-invalid")
        if index + 1 >= len(arguments):
            print(__doc__, file=sys.stderr)
            return 64
        with open(arguments[index + 1], encoding="utf-8") as file:
            expect_invalid = {json.loads(line) for line in file if line.strip()}
        del arguments[index:index + 2]
    if not arguments:
        print(__doc__, file=sys.stderr)
        return 64
    document = load_document(arguments[0])
    problems = check_document(document)
    for problem in problems:
        print(f"document: {problem}")
    if problems:
        return 1
    print(f"document: {arguments[0]} is consistent and pydantic-asyncapi accepts it "
          f"({len(document['channels'])} channels, {len(document['components']['schemas'])} schemas)")
    if len(arguments) == 1:
        return 0
    contract = Contract(document)
    files = list(recording_files(arguments[1:]))
    failures, seen, messages, invalid_seen = [], {}, 0, set()
    for path in files:
        with open(path, encoding="utf-8") as file:
            records = [json.loads(line) for line in file if line.strip()]
        messages += len(records)
        found, counts = check_recording(contract, records, expect_invalid, invalid_seen)
        name = os.path.basename(path)
        failures += [f"{name}: {failure}" if len(files) > 1 else failure for failure in found]
        for channel, count in counts.items():
            seen[channel] = seen.get(channel, 0) + count
    for text in expect_invalid - invalid_seen:
        failures.append(f"an invalid payload the test sent was never recorded: {text[:200]}")
    if require_every_channel:
        failures += [f"channel {name} ({document['channels'][name]['address']}): no message recorded"
                     for name in document["channels"] if name not in seen and name not in not_required]
    for failure in failures:
        print(f"drift: {failure}")
    print("messages per channel: " + ", ".join(f"{name} {count}" for name, count in sorted(seen.items())))
    print(f"{len(files)} recording(s), {messages} messages, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
