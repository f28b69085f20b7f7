"""Snapshots: the cluster state as a file, read by ``--pods-from`` and written by ``--save``.

A snapshot is what ``kubectl get pods,services -A -o json`` (or ``-o yaml``) prints: a ``List``
of Pod and Service objects, optionally with Namespace objects (then a missing namespace can be
told from an empty one). JSON is read with the standard library's parser, YAML with libyaml;
objects are checked at this boundary (``state.check_object``), so a hand-edited or corrupted
file gets one message per bad object, never a crash in discovery.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llmgw import files, yamlsrc
from llmgw.errors import InputError
from llmgw.state import ClusterState, Obj, bad_objects

#: How a snapshot is made, for the hints.
COMMAND = "kubectl get pods,services -A -o yaml > FILE"
HINT = f"make it with: {COMMAND}"


def load(path: Path) -> ClusterState:
    """Read what ``kubectl get pods,services -A -o json|yaml`` prints."""
    text = yamlsrc.read_text(path, "pod snapshot")
    data: Any
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"
            ) from None
    else:
        data = yamlsrc.load(text, path)
    objects = _objects(data, path)
    bad = bad_objects(objects)
    if bad:
        raise InputError(
            "\n".join(f"{path}: {problem}" for problem in bad),
            hint=f"fix or remove those objects, or make the snapshot again: {COMMAND}",
        )
    return state_from_objects(objects, source=str(path))


def _objects(data: Any, path: Path) -> list[Obj]:
    if not isinstance(data, dict):
        raise InputError(
            f"{path}: expected a Kubernetes List object, got {type(data).__name__}", HINT
        )
    if "items" not in data:
        if data.get("kind") in ("Pod", "Service", "Namespace"):
            return [data]
        raise InputError(f"{path}: expected a Kubernetes List with items:", HINT)
    items = data["items"] or []
    if not isinstance(items, list):
        raise InputError(f"{path}: items: expected a list", HINT)
    list_kind = str(data.get("kind") or "")
    implied = list_kind[:-4] if list_kind.endswith("List") and list_kind != "List" else None
    out: list[Obj] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"{path}: items[{index}]: expected an object", HINT)
        if implied and "kind" not in item:
            item["kind"] = implied  # the parsed document is ours: no copy
        if item.get("kind") == "List":
            out.extend(_objects(item, path))
        else:
            out.append(item)
    return out


def state_from_objects(objects: Iterable[Obj], source: str) -> ClusterState:
    pods: dict[str, list[Obj]] = {}
    services: dict[str, list[Obj]] = {}
    namespaces: set[str] = set()
    for obj in objects:
        kind = obj.get("kind")
        meta = obj.get("metadata") or {}
        if kind == "Namespace":
            namespaces.add(str(meta.get("name")))
            continue
        ns = str(meta.get("namespace") or "default")
        if kind == "Pod":
            pods.setdefault(ns, []).append(obj)
        elif kind == "Service":
            services.setdefault(ns, []).append(obj)
    return ClusterState(
        pods=pods,
        services=services,
        # Only a snapshot that lists Namespace objects can say which namespaces are missing.
        namespaces=frozenset(namespaces) if namespaces else None,
        source=source,
    )


def to_list(state: ClusterState) -> dict[str, Any]:
    """The state as a kubectl-style List that ``load`` reads back."""
    items: list[Obj] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        for ns in sorted(state.namespaces or ())
    ]
    for ns in sorted(state.pods):
        items += [{"apiVersion": "v1", **p, "kind": "Pod"} for p in state.pods[ns]]
    for ns in sorted(state.services):
        items += [{"apiVersion": "v1", **s, "kind": "Service"} for s in state.services[ns]]
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def save(path: Path, state: ClusterState) -> None:
    """Write ``state`` atomically: JSON for a ``.json`` path (fastest to read back), else YAML."""
    from llmgw.yamlout import document

    data = to_list(state)
    text = json.dumps(data, indent=1) + "\n" if path.suffix == ".json" else document(data)
    files.write_atomic(path, text)
