"""Which configured models really run, decided the same way for every source.

A source (a snapshot file in ``snapshot.py``, the live API in ``kube/``) only produces a
``ClusterState``: the pods and services of the namespaces that matter, as the plain JSON objects
the Kubernetes API returns, checked at that boundary. ``discover`` is pure and turns that state
into one ``DiscoveredModel`` per configured model, so readiness, api_base and served-name rules
cannot drift between sources.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from llmgw.config import Config, SelfHostedModel
from llmgw.engines import ENGINES, Engine
from llmgw.state import ClusterState, Obj, ProbeAnswer, ProbeTarget, Wanted

#: Container waiting reasons that mean the pod will not become ready by itself soon.
FAILING_WAIT_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


@dataclass(frozen=True)
class DiscoveredModel:
    engine: str
    name: str
    namespace: str
    deploy: bool
    ready: bool
    ready_replicas: int
    replicas: int
    api_base: str
    served_name: str
    service: str | None
    #: Why the model is not ready; empty when it is.
    reason: str = ""
    notes: tuple[str, ...] = field(default=())
    #: The name clients ask for (``vllm/<name>`` by default).
    public_name: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "name": self.name,
            "public_name": self.public_name,
            "namespace": self.namespace,
            "deploy": self.deploy,
            "ready": self.ready,
            "ready_replicas": self.ready_replicas,
            "replicas": self.replicas,
            "api_base": self.api_base,
            "served_name": self.served_name,
            "service": self.service,
            "reason": self.reason,
            "notes": list(self.notes),
        }


# -- readiness ------------------------------------------------------------------------------


def pod_readiness(pod: Obj) -> tuple[bool, str]:
    """Whether a pod can take traffic now, and if not, the reason a user can act on.

    Ready means phase Running, condition Ready=True, no deletionTimestamp and a pod IP. Seeing
    the pod's name is not enough: a crash-looping pod is listed like a healthy one.
    """
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    if meta.get("deletionTimestamp"):
        return False, "terminating"
    statuses = [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]
    for container in statuses:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in FAILING_WAIT_REASONS:
            return False, str(waiting["reason"])
    phase = status.get("phase") or "Unknown"
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if phase != "Running":
        scheduled = conditions.get("PodScheduled") or {}
        if phase == "Pending" and scheduled.get("status") == "False":
            return False, f"Pending ({scheduled.get('reason') or 'not scheduled'})"
        for container in statuses:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason"):
                return False, f"{phase} ({waiting['reason']})"
        return False, str(phase)
    if (conditions.get("Ready") or {}).get("status") != "True":
        return False, "Running, not Ready (readiness probe failing)"
    if not status.get("podIP"):
        return False, "no pod IP"
    return True, ""


# -- matching -------------------------------------------------------------------------------


def _labels(obj: Obj) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _matches(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _find_service(
    model: SelfHostedModel, pods: Sequence[Obj], services: Sequence[Obj], index: _ServiceIndex
) -> Obj | None:
    if model.service:
        return next(
            (s for s in services if s.get("metadata", {}).get("name") == model.service), None
        )
    for labels in [_labels(p) for p in pods] or [model.selector_labels()]:
        for svc in index.candidates(labels):
            if _matches(labels, (svc.get("spec") or {}).get("selector") or {}):
                return svc
    return None


class _ServiceIndex:
    """Services of one namespace by one (key, value) of their selector, for O(labels) lookups."""

    def __init__(self, services: Sequence[Obj]) -> None:
        self._by_pair: dict[tuple[str, str], list[Obj]] = {}
        for svc in services:
            selector = (svc.get("spec") or {}).get("selector") or {}
            if selector:
                pair = next(iter(sorted(selector.items())))
                self._by_pair.setdefault(pair, []).append(svc)

    def candidates(self, labels: Mapping[str, str]) -> list[Obj]:
        return [svc for pair in labels.items() for svc in self._by_pair.get(pair, ())]


def _service_port(svc: Obj, engine: Engine) -> int | None:
    ports = (svc.get("spec") or {}).get("ports") or []
    if not ports:
        return None
    for port in ports:
        if engine.port in (port.get("targetPort"), port.get("port")):
            return int(port["port"])
    for port in ports:
        if port.get("name") in ("http", "api", "openai"):
            return int(port["port"])
    return int(ports[0]["port"])


def api_base(engine: Engine, host: str, port: int) -> str:
    return f"http://{host}:{port}{engine.api_path}"


# -- served names ---------------------------------------------------------------------------


_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh"})


def _argv(container: Obj) -> list[str]:
    raw = [
        str(part) for part in [*(container.get("command") or []), *(container.get("args") or [])]
    ]
    argv: list[str] = []
    for i, text in enumerate(raw):
        # ``sh -c "vllm serve … --served-model-name x"`` carries the flags in one string.
        if i >= 1 and raw[i - 1] == "-c" and any(Path(a).name in _SHELLS for a in raw[:i]):
            try:
                argv.extend(shlex.split(text))
            except ValueError:
                argv.extend(text.split())
        else:
            argv.append(text)
    return argv


def _flag_value(argv: Sequence[str], flag: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1 :]
    return None


def served_name_from_pod(engine: Engine, pod: Obj) -> str | None:
    """The model name an engine serves, read from its container's flags or environment."""
    containers = (pod.get("spec") or {}).get("containers") or []
    for flag in engine.served_name_flags:
        for container in containers:
            value = _flag_value(_argv(container), flag)
            if value:
                return value
    if engine.positional_serve:
        for container in containers:
            argv = _argv(container)
            for i, arg in enumerate(argv[:-1]):
                if arg == "serve" and not argv[i + 1].startswith("-"):
                    return argv[i + 1]
    for var in engine.served_name_env:
        for container in containers:
            for env in container.get("env") or []:
                if env.get("name") == var and env.get("value"):
                    return str(env["value"])
    return None


# -- the decision ---------------------------------------------------------------------------


class _LabelIndex:
    """Objects of a namespace by (label key, value), so matching costs O(matches), not O(pods)."""

    def __init__(self, objects: Mapping[str, Sequence[Obj]], labels_of: Any) -> None:
        self._objects = objects
        self._labels_of = labels_of
        self._index: dict[tuple[str, str], dict[str, list[Obj]]] = {}

    def matching(self, namespace: str, selector: Mapping[str, str]) -> list[Obj]:
        key, value = next(iter(selector.items()))
        by_value = self._index.get((namespace, key))
        if by_value is None:
            by_value = {}
            for obj in self._objects.get(namespace, ()):
                label = self._labels_of(obj).get(key)
                if label is not None:
                    by_value.setdefault(label, []).append(obj)
            self._index[(namespace, key)] = by_value
        return [o for o in by_value.get(value, ()) if _matches(self._labels_of(o), selector)]


def discover(config: Config, state: ClusterState) -> list[DiscoveredModel]:
    """One DiscoveredModel per configured self-hosted model, in config order."""
    pods = _LabelIndex(state.pods, _labels)
    services = {ns: _ServiceIndex(svcs) for ns, svcs in state.services.items()}
    return [
        replace(
            _discover_one(engine, model, state, pods, services),
            public_name=config.public_name(engine.name, model),
        )
        for engine, _index, model in config.models.by_engine()
    ]


def model_namespace(engine: Engine, model: SelfHostedModel) -> str:
    return model.namespace or engine.namespace


def _discover_one(
    engine: Engine,
    model: SelfHostedModel,
    state: ClusterState,
    index: _LabelIndex,
    services: Mapping[str, _ServiceIndex],
) -> DiscoveredModel:
    namespace = model_namespace(engine, model)
    selector = model.selector_labels()
    pods = index.matching(namespace, selector)
    verdicts = [pod_readiness(p) for p in pods]
    ready_pods = [p for p, (ok, _) in zip(pods, verdicts, strict=True) if ok]

    svc = _find_service(
        model, pods, state.services.get(namespace, ()), services.get(namespace, _ServiceIndex(()))
    )
    notes: list[str] = []
    if svc is not None:
        service: str | None = str(svc["metadata"]["name"])
        port = model.port or _service_port(svc, engine) or engine.port
    else:
        service = model.service
        port = model.port or engine.port
        if pods and not model.service:
            notes.append(f"no Service selects these pods; using http://{model.name}.{namespace}")
    host = f"{service or model.name}.{namespace}"

    served = model.served_name
    if served is None:
        for pod in [*ready_pods, *pods]:
            served = served_name_from_pod(engine, pod)
            if served:
                break
    served = served or model.name

    if ready_pods:
        reason = ""
    elif namespace in state.failed_namespaces:
        reason = f"unknown: listing namespace {namespace} failed"
    elif state.namespaces is not None and namespace not in state.namespaces:
        reason = f"namespace {namespace} missing"
    elif not pods:
        labels = ",".join(f"{k}={v}" for k, v in selector.items())
        reason = f"no pods match {labels} in namespace {namespace}"
    else:
        counts = Counter(why for _, why in verdicts)
        reason = ", ".join(
            why if n == len(pods) else f"{why} ({n}/{len(pods)} pods)" for why, n in counts.items()
        )
    return DiscoveredModel(
        engine=engine.name,
        name=model.name,
        namespace=namespace,
        deploy=model.deploy,
        ready=bool(ready_pods),
        ready_replicas=len(ready_pods),
        replicas=len(pods),
        api_base=api_base(engine, host, port),
        served_name=served,
        service=service,
        reason=reason,
        notes=tuple(notes),
    )


# -- what to read, and what probing found ---------------------------------------------------


def wanted(config: Config) -> dict[str, Wanted]:
    """Per namespace holding configured models: the names and selectors to list pods by."""
    names: dict[str, list[str]] = {}
    selectors: dict[str, list[Mapping[str, str]]] = {}
    for engine, _index, model in config.models.by_engine():
        ns = model_namespace(engine, model)
        if model.selector:
            selectors.setdefault(ns, []).append(model.selector)
        else:
            names.setdefault(ns, []).append(model.name)
    return {
        ns: Wanted(names.get(ns, ()), selectors.get(ns, ()))
        for ns in sorted(set(names) | set(selectors))
    }


def probe_targets(models: Sequence[DiscoveredModel]) -> list[tuple[DiscoveredModel, ProbeTarget]]:
    """The ready models that have a Service, with where to ask their engine."""
    out = []
    for m in models:
        if m.ready and m.service:
            engine = ENGINES[m.engine]
            port = int(urlsplit(m.api_base).port or engine.port)
            target = ProbeTarget(
                m.namespace, m.service, port, engine.models_path, ollama=engine.name == "ollama"
            )
            out.append((m, target))
    return out


def apply_probe(
    models: Sequence[DiscoveredModel],
    answers: Mapping[int, ProbeAnswer],
    configured: Callable[[DiscoveredModel], bool],
) -> list[DiscoveredModel]:
    """Models with what their engines answered (by ``id(model)``).

    ``configured(m)`` says whether the served name came from config (then a difference is
    worth saying). A failed probe marks the model unverified; it does not hide it.
    """
    out = []
    for m in models:
        answer = answers.get(id(m))
        if answer is None:
            out.append(m)
        elif answer.problem:
            out.append(replace(m, notes=(*m.notes, f"unverified: {answer.problem}")))
        elif m.served_name in answer.ids or not answer.ids:
            out.append(m)
        elif len(answer.ids) == 1:
            served = answer.ids[0]
            note = f"engine serves {served!r}"
            if configured(m):
                note += f", not {m.served_name!r} as configured; using {served!r}"
            out.append(replace(m, served_name=served, notes=(*m.notes, note)))
        else:
            note = f"engine serves {', '.join(answer.ids)}, not {m.served_name!r}"
            out.append(replace(m, notes=(*m.notes, note)))
    return out
