#!/usr/bin/env python3
"""Runs docker/compose.yaml with plain `podman` commands: what docker/check needs of it.

    compose-podman.py PROJECT up|down

Debian bookworm's podman-compose (1.0.3) adds a network of its own to every container,
which podman refuses next to `network_mode: host`; this does what `docker compose up -d`
and `down -v` would do for this file: ${VAR:-default} from the environment, the `x-`
anchors, image, entrypoint, command, environment, named volumes, ulimits, host network;
services with a `profiles` entry are not started. Containers and volumes are labelled
with the project, so that `down` (and docker/check's teardown) finds them all.
"""
import os
import re
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def interpolate(value):
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: os.environ.get(m.group(1)) or (m.group(2) or ""), value)
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    return value


def podman(*arguments, check=True):
    return subprocess.run(["podman", *arguments], check=check, text=True, capture_output=True)


def up(project, compose):
    for name, service in compose["services"].items():
        if service.get("profiles"):
            continue
        arguments = ["run", "-d", "--name", f"{project}_{name}", "--label", f"io.podman.compose.project={project}"]
        if service.get("network_mode") == "host":
            arguments += ["--network", "host"]
        for key, value in (service.get("environment") or {}).items():
            arguments += ["-e", f"{key}={value}"]
        for volume in service.get("volumes") or []:
            source, target = volume.split(":", 1)
            volume_name = f"{project}_{source}"
            if podman("volume", "exists", volume_name, check=False).returncode != 0:
                podman("volume", "create", "--label", f"io.podman.compose.project={project}", volume_name)
            arguments += ["-v", f"{volume_name}:{target}"]
        for limit, value in (service.get("ulimits") or {}).items():
            arguments += ["--ulimit", f"{limit}={value['soft']}:{value['hard']}"]
        if service.get("restart") not in (None, "no"):
            arguments += ["--restart", service["restart"]]
        if service.get("entrypoint"):
            arguments += ["--entrypoint", service["entrypoint"][0]]
        arguments.append(service["image"])
        arguments += service.get("entrypoint", [])[1:] + (service.get("command") or [])
        print(f"{name}: podman {' '.join(arguments)}", flush=True)
        podman(*arguments)


def down(project):
    label = f"label=io.podman.compose.project={project}"
    containers = podman("ps", "-a", "-q", "--filter", label).stdout.split()
    if containers:
        podman("rm", "-f", "-t", "10", *containers)
    volumes = podman("volume", "ls", "-q", "--filter", label).stdout.split()
    if volumes:
        podman("volume", "rm", "-f", *volumes)


def main(project, action):
    with open(os.path.join(HERE, "compose.yaml"), encoding="utf-8") as file:
        compose = interpolate(yaml.safe_load(file))
    up(project, compose) if action == "up" else down(project)


if __name__ == "__main__":
    main(*sys.argv[1:])
