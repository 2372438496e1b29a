"""The preflight probe: a tiny Ray job that reports what each node of the cluster offers and sees.

`deepmath train --submit` runs `python -m deepmath_ext.launch.probe SPEC_JSON` as a job in the training job's
own runtime env, so the shipped modules and variables are those the training will get. It starts one task on
every alive node, pinned there, which checks the paths and imports of the spec, and prints one line
`MARKER {json}` with the nodes' resources and problems. It imports nothing of deepmath but this module.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

MARKER = "DEEPMATH_PROBE"


def check_node(spec: dict[str, Any]) -> list[str]:
    """The spec's problems as seen from this node: unreadable inputs, unwritable outputs, failing imports."""
    problems = []
    for key, path in spec.get("read", []):
        if not os.access(path, os.R_OK):
            what = "missing" if not os.path.exists(path) else "not readable"
            problems.append(f"{key}: {path} is {what} on this node")
    for key, path in spec.get("write", []):
        ancestor = Path(path)
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not os.access(ancestor, os.W_OK):
            problems.append(
                f"{key}: {path} is not writable on this node ({ancestor} is read-only to its user)"
            )
    for key, module in spec.get("imports", []):
        try:
            importlib.import_module(module)
        except Exception as error:
            problems.append(f"{key}: `import {module}` fails on this node: {type(error).__name__}: {error}")
    for key, group, name in spec.get("entry_points", []):
        if not any(point.name == name for point in entry_points(group=group)):
            problems.append(f"{key}: no entry point {name!r} in group {group!r} on this node")
    return problems


def probe(spec: dict[str, Any]) -> dict[str, Any]:
    """Every alive node's id, address, resources and problems (this runs as the probe job's driver)."""
    import ray

    ray.init()
    return probe_nodes(spec)


def probe_nodes(spec: dict[str, Any]) -> dict[str, Any]:
    """`probe`'s report from a process already connected to the cluster (one pinned task per alive node).

    A node that dies before its task runs (Ray still listed it alive) is left out of `nodes` and named under
    `lost`: the report describes the nodes that can take work now.
    """
    import ray
    from ray.exceptions import NodeDiedError, TaskUnschedulableError, WorkerCrashedError
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    alive = [node for node in ray.nodes() if node["Alive"]]
    task = ray.remote(num_cpus=0)(check_node)
    pending = [
        task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)).remote(
            spec
        )
        for node in alive
    ]
    nodes, problems, lost = [], [], []
    for node, checked in zip(alive, pending, strict=True):
        try:
            found = ray.get(checked)
        except (NodeDiedError, TaskUnschedulableError, WorkerCrashedError):
            lost.append(node["NodeManagerAddress"])
            continue
        nodes.append(
            {"id": node["NodeID"], "address": node["NodeManagerAddress"], "resources": node["Resources"]}
        )
        problems.append([node["NodeManagerAddress"], found])
    return {"nodes": nodes, "problems": problems, "lost": lost}


def node_problems(report: dict[str, Any]) -> list[str]:
    """The report's problems, one line each, naming the node: `node ADDRESS: problem`."""
    return [f"node {address}: {problem}" for address, found in report["problems"] for problem in found]


def lost_nodes(report: dict[str, Any]) -> list[str]:
    """One line per node that left the cluster before its check ran (a warning: it takes no work)."""
    return [
        f"node {address} left the cluster before its check ran; it takes no work"
        for address in report["lost"]
    ]


if __name__ == "__main__":
    print(f"{MARKER} {json.dumps(probe(json.loads(sys.argv[1])))}", flush=True)
