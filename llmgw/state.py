"""Cluster state as the adapters hand it over: Pods and Services as Kubernetes JSON objects.

The types here are the boundary between the sources (a snapshot file, the live API) and the
pure stages. ``check_object`` is the boundary check: every field discovery reads is verified to
have the type and form the API server guarantees, once, where the object comes in, so a hand
edited or corrupted snapshot is an error naming the object and field instead of a crash deep in
discovery, and a Service name that is not a DNS label never reaches an ``api_base`` URL.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmgw.selector import Selector

Obj = Mapping[str, Any]

#: RFC 1123 label (namespaces) and RFC 1035 label (Services), as the API server checks them.
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_IPV4 = re.compile(r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


#: The resources a ``discover:`` rule may name, and the Gateway API objects an InferencePool
#: is reached through: kind → (plural, the API versions to ask, newest first: a cluster that
#: has only the older one is read too).
RESOURCE_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "InferenceService": ("inferenceservices", ("serving.kserve.io/v1beta1",)),
    "LLMInferenceService": (
        "llminferenceservices",
        ("serving.kserve.io/v1alpha2", "serving.kserve.io/v1alpha1"),
    ),
    "LeaderWorkerSet": ("leaderworkersets", ("leaderworkerset.x-k8s.io/v1",)),
    "InferencePool": (
        "inferencepools",
        ("inference.networking.k8s.io/v1", "inference.networking.x-k8s.io/v1alpha2"),
    ),
    "HTTPRoute": ("httproutes", ("gateway.networking.k8s.io/v1",)),
    "Gateway": ("gateways", ("gateway.networking.k8s.io/v1",)),
}


@dataclass(frozen=True)
class ClusterState:
    """Pods and Services by namespace, as Kubernetes JSON objects."""

    pods: Mapping[str, Sequence[Obj]]
    services: Mapping[str, Sequence[Obj]]
    #: Namespaces known to exist; None when the source cannot tell (a plain pod snapshot).
    namespaces: frozenset[str] | None = None
    #: What was read, for messages: a file path or ``cluster <server> (context <name>)``.
    source: str = ""
    #: Lists that failed part-way; the state is then incomplete.
    problems: tuple[str, ...] = ()
    #: Namespaces whose lists failed: their models' state is unknown.
    failed_namespaces: frozenset[str] = frozenset()
    #: Of those, the ones the API server refused (403): a missing right, not an outage.
    forbidden_namespaces: frozenset[str] = frozenset()
    #: What the source itself warns of (a snapshot that holds secrets in the clear).
    notes: tuple[str, ...] = ()
    #: Objects of ``RESOURCE_KINDS`` by kind, then namespace.
    resources: Mapping[str, Mapping[str, Sequence[Obj]]] = field(default_factory=dict)
    #: Kinds the cluster does not serve (no CRD installed): rules for them find nothing.
    missing_kinds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Wanted:
    """What to read in one namespace: the pods any of these selectors picks (listed with one
    selector that covers them all), or every pod (``everything``: what ``discover`` reports
    on, model servers nothing selects)."""

    selectors: tuple[Selector, ...] = ()
    everything: bool = False
    #: Resources of ``RESOURCE_KINDS`` to list too (one LIST per kind).
    kinds: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ProbeTarget:
    """One engine behind a Service, and the path that lists what it serves."""

    namespace: str
    service: str
    port: int
    path: str
    #: Ollama lists ``models[].name``; OpenAI-compatible servers ``data[].id``.
    ollama: bool = False


@dataclass(frozen=True)
class ProbeAnswer:
    ids: list[str] = field(default_factory=list)
    problem: str = ""


def describe(obj: Obj) -> str:
    """``Pod ns/name`` for messages (whatever the object holds, printed safely)."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name = f"{meta.get('namespace') or 'default'}/{meta.get('name')}"
    return f"{obj.get('kind') or 'object'} {name!r}"[:120]


_KIND_WORDS: dict[type, str] = {dict: "a mapping", list: "a list", str: "text"}


def _kind(value: Any) -> str:
    return _KIND_WORDS.get(type(value), type(value).__name__)


class _Bad(Exception):
    pass


def _need(value: Any, types: type | tuple[type, ...], where: str, what: str) -> Any:
    if not isinstance(value, types):
        raise _Bad(f"{where} must be {what}, not {_kind(value)}")
    return value


def _opt_map(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    return _need(value, dict, f"{where}{key}", "a mapping")  # type: ignore[no-any-return]


def _opt_list(parent: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return []
    return _need(value, list, f"{where}{key}", "a list")  # type: ignore[no-any-return]


def _opt_str(parent: Mapping[str, Any], key: str, where: str) -> str | None:
    value = parent.get(key)
    if value is None:
        return None
    return _need(value, str, f"{where}{key}", "text")  # type: ignore[no-any-return]


def _string_map(parent: Mapping[str, Any], key: str, where: str) -> None:
    for k, v in _opt_map(parent, key, where).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise _Bad(f"{where}{key}.{k} must be text, not {_kind(v)}")


def _containers(spec: Mapping[str, Any]) -> None:
    for i, c in enumerate(_opt_list(spec, "containers", "spec.")):
        where = f"spec.containers[{i}]"
        _need(c, dict, where, "a mapping")
        _opt_str(c, "image", f"{where}.")
        for key in ("command", "args"):
            for j, arg in enumerate(_opt_list(c, key, f"{where}.")):
                _need(arg, str, f"{where}.{key}[{j}]", "text")
        for j, env in enumerate(_opt_list(c, "env", f"{where}.")):
            _need(env, dict, f"{where}.env[{j}]", "a mapping")
            _opt_str(env, "name", f"{where}.env[{j}].")
            _opt_str(env, "value", f"{where}.env[{j}].")


def _pod_status(status: Mapping[str, Any]) -> None:
    _opt_str(status, "phase", "status.")
    for i, cond in enumerate(_opt_list(status, "conditions", "status.")):
        _need(cond, dict, f"status.conditions[{i}]", "a mapping")
        _opt_str(cond, "type", f"status.conditions[{i}].")
        _opt_str(cond, "status", f"status.conditions[{i}].")
        _opt_str(cond, "reason", f"status.conditions[{i}].")
    for key in ("initContainerStatuses", "containerStatuses"):
        for i, cs in enumerate(_opt_list(status, key, "status.")):
            where = f"status.{key}[{i}]"
            _need(cs, dict, where, "a mapping")
            waiting = _opt_map(_opt_map(cs, "state", f"{where}."), "waiting", f"{where}.state.")
            _opt_str(waiting, "reason", f"{where}.state.waiting.")
    ip = _opt_str(status, "podIP", "status.")
    if ip and not _IPV4.match(ip):
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise _Bad(f"status.podIP {ip[:60]!r} is not an IP address") from None


def _service_spec(spec: Mapping[str, Any]) -> None:
    _string_map(spec, "selector", "spec.")
    for i, port in enumerate(_opt_list(spec, "ports", "spec.")):
        where = f"spec.ports[{i}]"
        _need(port, dict, where, "a mapping")
        number = port.get("port")
        if type(number) is not int or not 1 <= number <= 65535:
            raise _Bad(f"{where}.port must be a port number (1-65535), not {number!r:.40}")
        target = port.get("targetPort")
        if target is not None and type(target) not in (int, str):
            raise _Bad(f"{where}.targetPort must be a number or a port name")
        _opt_str(port, "name", f"{where}.")


def check_object(obj: Any) -> str | None:
    """What is wrong with a Pod, Service or serving resource, or None; other kinds are not
    read. A serving resource is checked for what every reader of it relies on (its name,
    namespace, labels, ``spec``/``status`` as mappings); the fields inside are read
    defensively."""
    if not isinstance(obj, dict):
        return f"must be a mapping, not {_kind(obj)}"
    kind = obj.get("kind")
    resource = isinstance(kind, str) and kind in RESOURCE_KINDS
    if kind not in ("Pod", "Service") and not resource:
        return None
    try:
        meta = _need(obj.get("metadata"), dict, "metadata", "a mapping")
        name = _need(meta.get("name"), str, "metadata.name", "text")
        namespace = _opt_str(meta, "namespace", "metadata.")
        if namespace is not None and not _DNS1123_LABEL.match(namespace):
            return f"metadata.namespace {namespace[:60]!r} is not a valid namespace name"
        name_rule = _DNS1035_LABEL if kind == "Service" else _DNS1123_SUBDOMAIN
        if not name_rule.match(name):
            return f"metadata.name {name[:60]!r} is not a valid {kind} name"
        _string_map(meta, "labels", "metadata.")
        _string_map(meta, "annotations", "metadata.")
        _opt_str(meta, "uid", "metadata.")
        spec = _opt_map(obj, "spec", "")
        if resource:
            _opt_map(obj, "status", "")
        elif kind == "Pod":
            _containers(spec)
            _pod_status(_opt_map(obj, "status", ""))
        else:
            _service_spec(spec)
    except _Bad as exc:
        return str(exc)
    return None


def bad_objects(objects: Iterable[Any], limit: int = 10) -> list[str]:
    """``Kind ns/name: problem`` for the first ``limit`` objects that fail ``check_object``."""
    out: list[str] = []
    for obj in objects:
        problem = check_object(obj)
        if problem:
            label = describe(obj) if isinstance(obj, dict) else "an item"
            out.append(f"{label}: {problem}")
            if len(out) >= limit:
                break
    return out
