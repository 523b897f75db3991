#!/usr/bin/env python3
"""Checks docs/asyncapi.yaml, then checks recorded MQTT messages against it.

    validate.py DOC                      the document alone
    validate.py DOC RECORDING [--expect-invalid FILE] [--require-every-channel]

The document: every `$ref` resolves, every operation names a channel of the document,
every schema is a valid JSON Schema (draft 7, `jsonschema`'s own meta-schema check), and,
when ASYNCAPI_SCHEMA names the official AsyncAPI 3.0.0 JSON Schema
(asyncapi/spec-json-schemas, schemas/3.0.0.json), the whole document against it.

RECORDING is JSON lines, one per message seen on `shoal/v1/#` (scripts/contract/record.py):
{"topic", "payload" (text), "responseTopic", "correlation" (hex)}. Each payload is
checked against the schema of the channel its topic matches, with every object closed
(`additionalProperties: false` on each `type: object` that lists properties and says
nothing), so
an undocumented field is drift. A reply's `result` is checked against the `x-shoal-result`
of the operation its request named (matched by Response Topic and Correlation Data).

--expect-invalid FILE lists payloads (one JSON string per line) that the test sent on
purpose against the contract: each must fail its schema, and nothing else may.
--require-every-channel fails when a channel of the document saw no message, so that a
topic the workload stopped exercising does not pass unnoticed. Exits 1 on any failure,
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


def check_document(document):
    problems = []
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


def check_recording(contract, records, expect_invalid):
    failures, seen, pending = [], {}, {}
    invalid_seen = set()
    for record in records:
        topic, text = record["topic"], record["payload"]
        channel, operation = contract.route(topic)
        if channel is None:
            if text in expect_invalid:
                invalid_seen.add(text)
            else:
                failures.append(f"{topic}: no channel of the document matches this topic")
            continue
        seen[channel] = seen.get(channel, 0) + 1
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as error:
            if text in expect_invalid:
                invalid_seen.add(text)
            else:
                failures.append(f"{topic}: not JSON ({error}): {text[:200]}")
            continue
        problems = []
        for message in contract.message_schemas(channel, operation):
            problems = contract.errors(message["payload"], payload)
            if not problems:
                break
        if operation is not None and record.get("responseTopic"):
            pending[(record["responseTopic"], record.get("correlation"))] = operation
        if channel == "reply" and not problems and payload.get("ok"):
            requested = pending.get((topic, record.get("correlation")))
            if requested is None:
                failures.append(f"{topic}: a reply to no recorded request (correlation {record.get('correlation')})")
            else:
                result = contract.message_schemas("api", requested)[0]["x-shoal-result"]
                problems = [f"result of {requested}: {problem}"
                            for problem in contract.errors(result, payload["result"])]
        if text in expect_invalid:
            invalid_seen.add(text)
            if not problems:
                failures.append(f"{topic}: sent as invalid, but the schema accepts it: {text[:200]}")
        elif problems:
            failures.append(f"{topic}: {text[:300]}\n    " + "\n    ".join(problems))
    for text in expect_invalid - invalid_seen:
        failures.append(f"an invalid payload the test sent was never recorded: {text[:200]}")
    return failures, seen


def main(arguments):
    require_every_channel = "--require-every-channel" in arguments
    arguments = [argument for argument in arguments if argument != "--require-every-channel"]
    if len(arguments) not in (1, 2, 4):
        print(__doc__, file=sys.stderr)
        return 64
    document = load_document(arguments[0])
    problems = check_document(document)
    for problem in problems:
        print(f"document: {problem}")
    if problems:
        return 1
    print(f"document: {arguments[0]} is consistent ({len(document['channels'])} channels, "
          f"{len(document['components']['schemas'])} schemas)")
    if len(arguments) == 1:
        return 0
    expect_invalid = set()
    if len(arguments) == 4 and arguments[2] == "--expect-invalid":
        with open(arguments[3], encoding="utf-8") as file:
            expect_invalid = {json.loads(line) for line in file if line.strip()}
    with open(arguments[1], encoding="utf-8") as file:
        records = [json.loads(line) for line in file if line.strip()]
    failures, seen = check_recording(Contract(document), records, expect_invalid)
    if require_every_channel:
        failures += [f"channel {name} ({document['channels'][name]['address']}): no message recorded"
                     for name in document["channels"] if name not in seen]
    for failure in failures:
        print(f"drift: {failure}")
    print("messages per channel: " + ", ".join(f"{name} {count}" for name, count in sorted(seen.items())))
    print(f"{len(records)} messages, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
