"""Snapshots: the cluster state as a file, read by ``--pods-from`` and written by ``--save``.

A snapshot is what ``kubectl get pods,services -A -o json`` (or ``-o yaml``) prints: a ``List``
of Pod and Service objects, optionally with Namespace objects (then a missing namespace can be
told from an empty one). JSON is read with the standard library's parser, YAML with libyaml;
objects are checked at this boundary (``state.check_object``), so a hand-edited or corrupted
file gets one message per bad object, never a crash in discovery.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from llmgw import files, yamlsrc
from llmgw.errors import InputError
from llmgw.redact import excerpt
from llmgw.state import RESOURCE_KINDS, ClusterState, Obj, bad_objects

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
    state = state_from_objects(objects, source=str(path))
    exposed = _exposed(objects)
    if not exposed:
        return state
    shown = ", ".join(exposed[:3]) + (f" and {len(exposed) - 3} more" if len(exposed) > 3 else "")
    note = (
        f"{path} holds {len(exposed)} value(s) that may be secrets, in the clear ({shown}); "
        "llmgw reads none of them: make the snapshot with `llmgw discover --save FILE`, which "
        "masks them, before you commit or share it"
    )
    return replace(state, notes=(note,))


def _exposed(objects: Iterable[Obj]) -> list[str]:
    """Where a pod in the file carries an env value or a secret flag's value: names only."""
    from llmgw.engines import ENGINES

    keep = frozenset(var for engine in ENGINES.values() for var in engine.served_name_env)
    out: list[str] = []
    for obj in objects:
        if obj.get("kind") != "Pod":
            continue
        meta = obj.get("metadata") or {}
        where = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        for container in _containers(obj):
            for env in container.get("env") or []:
                if not isinstance(env, dict) or env.get("name") in keep:
                    continue
                if env.get("value") not in (None, "", MASKED):
                    out.append(f"env {excerpt(env.get('name'))} in {where}")
            for field in ("command", "args"):
                argv = container.get(field)
                if not isinstance(argv, list):
                    continue
                for i, (arg, masked) in enumerate(zip(argv, _masked_argv(argv), strict=True)):
                    if arg != masked:
                        flag = argv[i - 1] if masked == MASKED else str(arg).partition("=")[0]
                        out.append(f"{field} {excerpt(flag)} in {where}")
    return out


def _objects(data: Any, path: Path) -> list[Obj]:
    if data is None:
        raise InputError(f"{path}: the snapshot is empty", HINT)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        raise InputError(f"{path}: expected a Kubernetes List object, got {kind}", HINT)
    if "items" not in data:
        if data.get("kind") in ("Pod", "Service", "Namespace", *RESOURCE_KINDS):
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
    resources: dict[str, dict[str, list[Obj]]] = {}
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
        elif isinstance(kind, str) and kind in RESOURCE_KINDS:
            resources.setdefault(str(kind), {}).setdefault(ns, []).append(obj)
    return ClusterState(
        pods=pods,
        services=services,
        # Only a snapshot that lists Namespace objects can say which namespaces are missing.
        namespaces=frozenset(namespaces) if namespaces else None,
        source=source,
        resources=resources,
    )


#: What stands where a secret was: the snapshot is a file people commit (docs/gitops.md).
MASKED = "(masked by llmgw)"
#: A flag or variable whose name has one of these words holds a secret (``--api-key``,
#: ``--hf-token``, ``HF_TOKEN=…``); ``--tokenizer`` and ``--max-num-batched-tokens`` do not.
_SECRET_WORDS = frozenset({"token", "key", "apikey", "secret", "password", "passwd", "credential"})


def _secret_name(name: str) -> bool:
    words = re.split(r"[-_.]+", name.strip("-").lower())
    return any(w in _SECRET_WORDS for w in words)


def _masked_argv(argv: list[Any]) -> list[Any]:
    """``--flag value``, ``--flag=value`` and ``NAME=value`` with a secret-looking name keep
    the name and lose the value."""
    out: list[Any] = []
    hide_next = False
    for arg in argv:
        text = str(arg)
        if hide_next and not text.startswith("-"):
            out.append(MASKED)
            hide_next = False
            continue
        hide_next = False
        name, eq, _value = text.partition("=")
        if eq and _secret_name(name):
            out.append(f"{name}={MASKED}")
        elif text.startswith("-") and _secret_name(text):
            out.append(text)
            hide_next = True
        else:
            out.append(arg)
    return out


def _without_secrets(pod: Obj, keep_env: frozenset[str]) -> Obj:
    """A pod as a snapshot keeps it: no env value but the served-name variables discovery
    reads, secret flags masked, and only llmgw's own annotations (``last-applied-configuration``
    carries the whole spec, env values included)."""
    import copy

    pod = copy.deepcopy(pod)
    meta = pod.get("metadata") or {}
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        meta["annotations"] = {
            k: v for k, v in annotations.items() if str(k).startswith("llmgw.io/")
        }
    for container in _containers(pod):
        for field in ("command", "args"):
            if isinstance(container.get(field), list):
                container[field] = _masked_argv(container[field])
        for env in container.get("env") or []:
            if isinstance(env, dict) and "value" in env and env.get("name") not in keep_env:
                env["value"] = MASKED
    return pod


def _resource_without_secrets(obj: Obj, keep_env: frozenset[str]) -> Obj:
    """A serving resource as a snapshot keeps it: pod templates inside it (a KServe
    predictor, an LWS leader and worker template) lose env values and secret flags as a
    pod does, and only llmgw's annotations stay."""
    import copy

    obj = copy.deepcopy(obj)
    meta = obj.get("metadata") or {}
    meta.pop("managedFields", None)
    if isinstance(meta.get("annotations"), dict):
        meta["annotations"] = {
            k: v for k, v in meta["annotations"].items() if str(k).startswith("llmgw.io/")
        }

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("args"), list) or isinstance(node.get("command"), list):
                for field in ("command", "args"):
                    if isinstance(node.get(field), list):
                        node[field] = _masked_argv(node[field])
            for env in node.get("env") or [] if isinstance(node.get("env"), list) else []:
                if isinstance(env, dict) and "value" in env and env.get("name") not in keep_env:
                    env["value"] = MASKED
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(obj.get("spec"))
    return obj


def _containers(pod: Obj) -> list[dict[str, Any]]:
    spec = pod.get("spec") or {}
    return [
        c
        for key in ("containers", "initContainers")
        for c in (spec.get(key) or [])
        if isinstance(c, dict)
    ]


def to_list(state: ClusterState) -> dict[str, Any]:
    """The state as a kubectl-style List that ``load`` reads back, without secrets: env
    values and secret flags are masked (discovery reads neither)."""
    from llmgw.engines import ENGINES

    keep = frozenset(var for engine in ENGINES.values() for var in engine.served_name_env)
    items: list[Obj] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        for ns in sorted(state.namespaces or ())
    ]
    for ns in sorted(state.pods):
        items += [
            {"apiVersion": "v1", **_without_secrets(p, keep), "kind": "Pod"} for p in state.pods[ns]
        ]
    for ns in sorted(state.services):
        items += [{"apiVersion": "v1", **s, "kind": "Service"} for s in state.services[ns]]
    for kind in sorted(state.resources):
        version = RESOURCE_KINDS[kind][1][0]
        for ns in sorted(state.resources[kind]):
            items += [
                {"apiVersion": version, **_resource_without_secrets(o, keep), "kind": kind}
                for o in state.resources[kind][ns]
            ]
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def save(path: Path, state: ClusterState) -> None:
    """Write ``state`` atomically: JSON for a ``.json`` path (fastest to read back), else YAML."""
    from llmgw.yamlout import document

    data = to_list(state)
    text = json.dumps(data, indent=1) + "\n" if path.suffix == ".json" else document(data)
    files.write_atomic(path, text)
