"""Models behind the serving resources teams deploy them with: KServe ``InferenceService`` and
``LLMInferenceService``, ``LeaderWorkerSet``, the Gateway API Inference Extension's
``InferencePool``, and a vLLM production-stack release (its router).

Each is one model (a production-stack router: one per model behind it), ready by the
resource's own status, reached where the resource serves it — never at the pods underneath,
which carry the resource's labels and are left to it (``owner``), so a model is registered
once. Pure, like discovery: the objects come from ``ClusterState.resources``. The facts (fields,
conditions, Services, paths, labels) are in ``../shared/facts/serving-resources.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from llmgw.config import Config, DiscoverRule
from llmgw.discovery import (
    Absence,
    DiscoveredModel,
    labels_of,
    matches_labels,
    model_spec,
    pod_readiness,
    recognise,
    served_name_from_pod,
)
from llmgw.engines import ENGINES
from llmgw.redact import one_line
from llmgw.state import ClusterState, Obj

#: The kinds a rule's kind makes llmgw read besides pods and Services.
KINDS_READ: dict[str, tuple[str, ...]] = {
    "Pod": (),
    "InferenceService": ("InferenceService",),
    "LLMInferenceService": ("LLMInferenceService",),
    "LeaderWorkerSet": ("LeaderWorkerSet",),
    "InferencePool": ("InferencePool", "HTTPRoute", "Gateway"),
    "ProductionStack": (),
}

ISVC_LABEL = "serving.kserve.io/inferenceservice"
PART_OF = "app.kubernetes.io/part-of"
LWS_NAME = "leaderworkerset.sigs.k8s.io/name"
LWS_INDEX = "leaderworkerset.sigs.k8s.io/worker-index"
INSTANCE = "app.kubernetes.io/instance"
COMPONENT = "app.kubernetes.io/component"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
POOL_GROUPS = ("inference.networking.k8s.io", "inference.networking.x-k8s.io")


def owner(pod: Obj) -> str | None:
    """The serving resource a pod belongs to (``Kind/name``), by the labels its controller
    puts on it; None for a pod of its own."""
    labels = labels_of(pod)
    if labels.get(ISVC_LABEL):
        return f"InferenceService/{labels[ISVC_LABEL]}"
    if labels.get(PART_OF) == "llminferenceservice":
        return f"LLMInferenceService/{labels.get('app.kubernetes.io/name', '?')}"
    if labels.get(LWS_NAME):
        return f"LeaderWorkerSet/{labels[LWS_NAME]}"
    if labels.get(PART_OF) == "vllm-stack":
        return f"ProductionStack/{labels.get(INSTANCE, '?')}"
    return None


def pool_members(state: ClusterState) -> dict[int, str]:
    """id(pod) → ``InferencePool/name`` for every pod an InferencePool selects."""
    out: dict[int, str] = {}
    for ns, pools in state.resources.get("InferencePool", {}).items():
        for pool in pools:
            selector = _pool_selector(pool)
            if not selector:
                continue
            for pod in state.pods.get(ns, ()):
                if matches_labels(labels_of(pod), selector):
                    out.setdefault(id(pod), f"InferencePool/{_name(pool)}")
    return out


@dataclass(frozen=True)
class _Found:
    """What one resource says, before it becomes a DiscoveredModel."""

    name: str
    namespace: str
    resource: str
    annotations: Mapping[str, str]
    engine: str
    ready: bool
    ready_replicas: int
    replicas: int
    api_base: str
    served_name: str
    reason: str = ""
    absence: Absence = Absence.NONE
    notes: tuple[str, ...] = ()


def find(
    config: Config,
    state: ClusterState,
    rule: DiscoverRule,
    number: int,
    reports: list[str],
    seen: set[tuple[str, str, str]],
) -> list[DiscoveredModel]:
    """The models one rule of a serving kind finds, in namespace and name order; ``seen``
    holds what earlier rules found (a resource two rules select is the first one's)."""
    if rule.kind in state.missing_kinds:
        reports.append(
            f"discover[{number}]: this cluster serves no {rule.kind} (its CRD is not "
            "installed): the rule finds nothing"
        )
        return []
    selector = rule.parsed()
    found: list[_Found] = []
    index = _PodIndex(state)
    for ns in rule.namespaces:
        if rule.kind == "ProductionStack":
            found += _production_stack(state, ns, rule, selector.matches)
            continue
        for obj in state.resources.get(rule.kind, {}).get(ns, ()):
            if selector.matches(labels_of(obj)):
                found.append(_READERS[rule.kind](index, ns, obj, rule))
    out: list[DiscoveredModel] = []
    for f in found:
        if (f.resource, f.namespace, f.name) in seen:  # an earlier rule found it: it is that one's
            continue
        seen.add((f.resource, f.namespace, f.name))
        notes = f.annotations
        spec = model_spec(
            f.name,
            f.namespace,
            rule.api_key,
            notes.get("llmgw.io/model-name"),
            notes.get("llmgw.io/weight"),
            notes.get("llmgw.io/order"),
        )
        if isinstance(spec, str):
            reports.append(f"{f.resource} in {f.namespace} (discover[{number}]): {spec}; left out")
            continue
        engine = ENGINES[f.engine]
        host = urlsplit(f.api_base).hostname or ""
        out.append(
            DiscoveredModel(
                engine=engine.name,
                name=f.name,
                namespace=f.namespace,
                deploy=True,
                ready=f.ready,
                ready_replicas=f.ready_replicas,
                replicas=f.replicas,
                api_base=f.api_base,
                served_name=f.served_name,
                service=host.split(".")[0] or None,
                reason=f.reason,
                absence=f.absence,
                notes=f.notes,
                public_name=config.public_name(engine.name, spec),
                rule=number,
                spec=spec,
                resource=f.resource,
            )
        )
    return out


# -- each kind --------------------------------------------------------------------------------


def _inference_service(index: _PodIndex, ns: str, obj: Obj, rule: DiscoverRule) -> _Found:
    """KServe InferenceService: Ready = PredictorReady ∧ IngressReady; in-cluster at
    ``status.address.url`` (port 80); the HuggingFace runtime serves OpenAI under
    ``/openai/v1`` (``KSERVE_OPENAI_ROUTE_PREFIX``), vLLM runtimes and own containers ``/v1``."""
    name, status, spec = _name(obj), _map(obj, "status"), _map(obj, "spec")
    predictor = _map(spec, "predictor")
    model = _map(predictor, "model")
    components = _map(status, "components")
    url = (
        _str(_map(status, "address"), "url")
        or _str(_map(_map(components, "predictor"), "address"), "url")
        or f"http://{name}-predictor.{ns}.svc.cluster.local"
    )
    runtime = " ".join(
        (
            _str(status, "clusterServingRuntimeName"),
            _str(status, "servingRuntimeName"),
            _str(model, "runtime"),
            _str(_map(model, "modelFormat"), "name"),
        )
    ).lower()
    own_containers = bool(_list(predictor, "containers"))
    args = [str(a) for a in _list(model, "args")]
    prefix = _env(_list(model, "env"), "KSERVE_OPENAI_ROUTE_PREFIX") or "/openai"
    path = f"{prefix.rstrip('/')}/v1" if "huggingface" in runtime and not own_containers else "/v1"
    served = _last_flag(args, ("--model_name", "--served-model-name")) or name
    pods = index.labelled(ns, ISVC_LABEL, name)
    ready, reason = _condition(status, "Ready")
    if _str(_map(obj, "metadata").get("annotations") or {}, "serving.kserve.io/stop") == "true":
        ready, reason = False, "stopped (serving.kserve.io/stop)"
    engine = _engine(rule, pods, "sglang" if "sglang" in runtime else "vllm")
    return _found(obj, ns, engine, ready, reason, pods, url.rstrip("/") + path, served)


def _llm_inference_service(index: _PodIndex, ns: str, obj: Obj, rule: DiscoverRule) -> _Found:
    """KServe LLMInferenceService: with a router at ``status.url`` + ``/v1``; without one at
    its workload Service, whose address has no port though the Service listens on 8000."""
    name, status, spec = _name(obj), _map(obj, "status"), _map(obj, "spec")
    url = _str(status, "url")
    if not url:
        addresses = [_str(a, "url") for a in _list(status, "addresses") if isinstance(a, Mapping)]
        url = next((a for a in addresses if a), "") or (
            f"http://{name}-kserve-workload-svc.{ns}.svc.cluster.local"
        )
        if urlsplit(url).port is None:
            url = url.rstrip("/") + ":8000"
    served = _str(_map(spec, "model"), "name") or name
    pods = [
        p
        for p in index.labelled(ns, "app.kubernetes.io/name", name)
        if labels_of(p).get(PART_OF) == "llminferenceservice"
    ]
    ready, reason = _condition(status, "Ready")
    return _found(obj, ns, _engine(rule, pods, "vllm"), ready, reason, pods, url + "/v1", served)


def _leader_worker_set(index: _PodIndex, ns: str, obj: Obj, rule: DiscoverRule) -> _Found:
    """LeaderWorkerSet: the leaders serve (worker-index 0); ready groups are
    ``status.readyReplicas``; the address is a Service that selects the leaders only (LWS
    makes only a headless one over every pod)."""
    name, status = _name(obj), _map(obj, "status")
    pods = index.labelled(ns, LWS_NAME, name)
    leaders = [p for p in pods if labels_of(p).get(LWS_INDEX) == "0"]
    workers = [p for p in pods if labels_of(p).get(LWS_INDEX) != "0"]
    groups = _int(status, "readyReplicas")
    wanted = _int(_map(obj, "spec"), "replicas") or _int(status, "replicas") or len(leaders)
    svc = _leader_service(index.state.services.get(ns, ()), leaders, workers)
    recognised = recognise(leaders[0]) if leaders else None
    engine = _engine(rule, leaders, recognised[0].name if recognised else "vllm")
    served = (served_name_from_pod(ENGINES[engine], leaders[0]) if leaders else None) or name
    if svc is None:
        api = f"http://{name}-leader.{ns}:{ENGINES[engine].port}/v1"
        return _Found(
            name, ns, f"LeaderWorkerSet/{name}", _annotations(obj), engine, False, groups,
            wanted, api, served,
            reason=f"no Service selects its leaders only ({LWS_NAME}={name},{LWS_INDEX}=0)",
            absence=Absence.UNROUTABLE,
        )  # fmt: skip
    port = _first_port(svc, ENGINES[engine].port)
    api = f"{_origin(f'{_name(svc)}.{ns}', port)}/v1"
    ready = groups >= 1
    reason = "" if ready else f"0/{wanted} groups ready"
    absence = Absence.NONE if ready else (Absence.NOT_READY if pods else Absence.NO_PODS)
    return _Found(
        name, ns, f"LeaderWorkerSet/{name}", _annotations(obj), engine, ready, groups, wanted,
        api, served, reason, absence,
    )  # fmt: skip


def _inference_pool(index: _PodIndex, ns: str, obj: Obj, rule: DiscoverRule) -> _Found:
    """InferencePool: reached only through a Gateway (pool ← HTTPRoute backendRef →
    parentRef Gateway → its Service and listener); ready when a parent accepted it and a pod
    of its selector is Ready. No object names the served model: the pods' flags do."""
    name, status = _name(obj), _map(obj, "status")
    selector = _pool_selector(obj)
    pods = [
        p
        for p in index.state.pods.get(ns, ())
        if selector and matches_labels(labels_of(p), selector)
    ]
    ready_pods = [p for p in pods if pod_readiness(p)[0]]
    recognised = recognise(ready_pods[0] if ready_pods else pods[0]) if pods else None
    engine = _engine(rule, pods, recognised[0].name if recognised else "vllm")
    served = next(
        (n for p in [*ready_pods, *pods] if (n := served_name_from_pod(ENGINES[engine], p))), name
    )
    parents = _list(status, "parents") or _list(status, "parent")
    accepted = any(_condition(p, "Accepted")[0] for p in parents if isinstance(p, Mapping))
    api, notes, route_problem = _pool_address(index.state, ns, name)
    problems = [
        *([] if accepted else ["no Gateway has accepted it (status.parents Accepted)"]),
        *([route_problem] if route_problem else []),
        *([] if ready_pods else [f"no Ready pod of its selector ({len(pods)} pods)"]),
    ]
    ready = not problems
    absence = Absence.NONE if ready else Absence.NOT_READY if pods else Absence.NO_PODS
    if route_problem:
        absence = Absence.UNROUTABLE
    return _Found(
        name, ns, f"InferencePool/{name}", _annotations(obj), engine, ready, len(ready_pods),
        len(pods), api, served, "; ".join(problems), absence, notes,
    )  # fmt: skip


def _production_stack(
    state: ClusterState, ns: str, rule: DiscoverRule, matches: Any
) -> list[_Found]:
    """A vLLM production-stack release: its router Service ``<release>-router-service``
    (port 80) serves every model its engines serve; one model per engine (``model`` label),
    served name from the engine's ``vllm serve <model>``."""
    pods = state.pods.get(ns, ())
    routers: dict[str, list[Obj]] = {}
    for p in pods:
        labels = labels_of(p)
        router = labels.get(PART_OF) == "vllm-stack" and labels.get(COMPONENT) == "router"
        if router and matches(labels):
            routers.setdefault(labels.get(INSTANCE, "?"), []).append(p)
    out: list[_Found] = []
    for release, router_pods in sorted(routers.items()):
        svc_name = f"{release}-router-service"
        svc = next((s for s in state.services.get(ns, ()) if _name(s) == svc_name), None)
        port = _first_port(svc, 80) if svc is not None else 80
        api = f"{_origin(f'{svc_name}.{ns}', port)}/v1"
        routers_ready = sum(1 for p in router_pods if pod_readiness(p)[0])
        engines: dict[str, list[Obj]] = {}
        for p in pods:
            labels = labels_of(p)
            if (
                labels.get(PART_OF) == "vllm-stack"
                and labels.get(COMPONENT) == "serving-engine"
                and labels.get(INSTANCE) == release
            ):
                model = labels.get("model") or labels.get("app.kubernetes.io/name") or "?"
                engines.setdefault(model, []).append(p)
        notes = () if svc is not None else (f"no Service {svc_name}; using its name",)
        for model, members in sorted(engines.items()):
            ready_members = [p for p in members if pod_readiness(p)[0]]
            served = next(
                (
                    n
                    for p in [*ready_members, *members]
                    if (n := served_name_from_pod(ENGINES["vllm"], p))
                ),
                model,
            )
            problems = [
                *([] if routers_ready else ["its router has no Ready pod"]),
                *([] if ready_members else [f"no Ready engine ({len(members)} pods)"]),
            ]
            ready = not problems
            out.append(
                _Found(
                    model, ns, f"ProductionStack/{release}", {}, _engine(rule, members, "vllm"),
                    ready, len(ready_members), len(members), api, served, "; ".join(problems),
                    Absence.NONE if ready else Absence.NOT_READY, notes,
                )
            )  # fmt: skip
    return out


class _PodIndex:
    """A namespace's pods by the value of one label, built once per (namespace, label): a
    resource's pods are found in O(its pods), not O(the namespace's)."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self._by: dict[tuple[str, str], dict[str, list[Obj]]] = {}

    def labelled(self, ns: str, key: str, value: str) -> list[Obj]:
        by_value = self._by.get((ns, key))
        if by_value is None:
            by_value = self._by[(ns, key)] = {}
            for p in self.state.pods.get(ns, ()):
                label = labels_of(p).get(key)
                if label is not None:
                    by_value.setdefault(label, []).append(p)
        return by_value.get(value, [])


_READERS = {
    "InferenceService": _inference_service,
    "LLMInferenceService": _llm_inference_service,
    "LeaderWorkerSet": _leader_worker_set,
    "InferencePool": _inference_pool,
}


# -- helpers ----------------------------------------------------------------------------------


def _found(
    obj: Obj,
    ns: str,
    engine: str,
    ready: bool,
    reason: str,
    pods: Sequence[Obj],
    api: str,
    served: str,
) -> _Found:
    ready_pods = sum(1 for p in pods if pod_readiness(p)[0])
    absence = Absence.NONE if ready else Absence.NOT_READY
    kind = str(obj.get("kind") or "")
    return _Found(
        _name(obj), ns, f"{kind}/{_name(obj)}", _annotations(obj), engine, ready,
        ready_pods if ready else 0, len(pods), api, served, "" if ready else reason, absence,
    )  # fmt: skip


def _pool_address(state: ClusterState, ns: str, pool: str) -> tuple[str, tuple[str, ...], str]:
    """(api_base, notes, what is missing): the Gateway an HTTPRoute sends the pool through."""
    for route in state.resources.get("HTTPRoute", {}).get(ns, ()):
        spec = _map(route, "spec")
        for rule in _list(spec, "rules"):
            if not isinstance(rule, Mapping):
                continue
            refs = [r for r in _list(rule, "backendRefs") if isinstance(r, Mapping)]
            if not any(
                r.get("kind") == "InferencePool"
                and r.get("name") == pool
                and r.get("group", POOL_GROUPS[0]) in POOL_GROUPS
                for r in refs
            ):
                continue
            parents = [p for p in _list(spec, "parentRefs") if isinstance(p, Mapping)]
            if not parents:
                return "", (), f"HTTPRoute {_name(route)} names no Gateway"
            parent = parents[0]
            gw_name, gw_ns = str(parent.get("name")), str(parent.get("namespace") or ns)
            prefix = _route_prefix(rule)
            return _gateway_url(state, gw_name, gw_ns, parent, prefix)
    return "", (), "no HTTPRoute sends requests to it"


def _gateway_url(
    state: ClusterState, name: str, ns: str, parent: Mapping[str, Any], prefix: str
) -> tuple[str, tuple[str, ...], str]:
    gateway = next(
        (g for g in state.resources.get("Gateway", {}).get(ns, ()) if _name(g) == name), None
    )
    notes: list[str] = []
    port = parent.get("port")
    if not isinstance(port, int):
        listeners = [
            x for x in _list(_map(gateway or {}, "spec"), "listeners") if isinstance(x, Mapping)
        ]
        section = parent.get("sectionName")
        chosen = next((x for x in listeners if x.get("name") == section), None) if section else None
        chosen = chosen or (listeners[0] if listeners else None)
        listened = chosen.get("port") if chosen else None
        port = listened if isinstance(listened, int) else 80
        if gateway is None:
            notes.append(f"Gateway {ns}/{name} not read; assuming port 80")
    services = state.services.get(ns, ())
    svc = next((s for s in services if labels_of(s).get(GATEWAY_NAME_LABEL) == name), None) or next(
        (s for s in services if _name(s) == name), None
    )
    host = _name(svc) if svc is not None else name
    if svc is None:
        notes.append(f"no Service of Gateway {ns}/{name} found; using its name")
    return f"{_origin(f'{host}.{ns}', port)}{prefix}/v1", tuple(notes), ""


def _route_prefix(rule: Mapping[str, Any]) -> str:
    for match in _list(rule, "matches"):
        path = _map(match, "path") if isinstance(match, Mapping) else {}
        if path.get("type", "PathPrefix") == "PathPrefix" and isinstance(path.get("value"), str):
            return str(path["value"]).rstrip("/")
    return ""


def _leader_service(
    services: Sequence[Obj], leaders: Sequence[Obj], workers: Sequence[Obj]
) -> Obj | None:
    """The Service that selects the leaders and no worker (not the headless one LWS makes)."""
    for svc in services:
        spec = _map(svc, "spec")
        selector = spec.get("selector") or {}
        if not selector or spec.get("clusterIP") == "None":
            continue
        if any(matches_labels(labels_of(p), selector) for p in leaders) and not any(
            matches_labels(labels_of(p), selector) for p in workers
        ):
            return svc
    return None


def _pool_selector(pool: Obj) -> dict[str, str]:
    """v1: ``spec.selector.matchLabels``; the older x-k8s.io group: ``spec.selector`` itself."""
    selector = _map(_map(pool, "spec"), "selector")
    labels = selector.get("matchLabels") if "matchLabels" in selector else selector
    if not isinstance(labels, Mapping):
        return {}
    return {str(k): str(v) for k, v in labels.items() if isinstance(v, str)}


def _condition(status: Mapping[str, Any], kind: str) -> tuple[bool, str]:
    """Whether condition ``kind`` is True, and if not, why in the resource's words."""
    for c in _list(status, "conditions"):
        if isinstance(c, Mapping) and c.get("type") == kind:
            if c.get("status") == "True":
                return True, ""
            why = ": ".join(str(x) for x in (c.get("reason"), c.get("message")) if x)
            return False, f"{kind} {c.get('status')}" + (f" ({one_line(why, 120)})" if why else "")
    return False, f"no {kind} condition yet"


def _engine(rule: DiscoverRule, pods: Sequence[Obj], default: str) -> str:
    if rule.engine != "auto":
        return rule.engine
    for p in pods:
        found = recognise(p)
        if found is not None:
            return found[0].name
    return default


def _origin(host: str, port: int) -> str:
    """``http://host`` with the port unless it is HTTP's own (as clients write the URL)."""
    return f"http://{host}" if port == 80 else f"http://{host}:{port}"


def _first_port(svc: Obj | None, default: int) -> int:
    ports = _list(_map(svc or {}, "spec"), "ports")
    port = ports[0].get("port") if ports and isinstance(ports[0], Mapping) else None
    return port if isinstance(port, int) else default


def _last_flag(argv: Sequence[str], flags: Sequence[str]) -> str | None:
    """The last value of any of ``flags`` (``--f=v`` or ``--f v``): argparse takes the last."""
    value = None
    for i, arg in enumerate(argv):
        for flag in flags:
            if arg.startswith(f"{flag}="):
                value = arg.split("=", 1)[1]
            elif arg == flag and i + 1 < len(argv):
                value = argv[i + 1]
    return value


def _env(env: Sequence[Any], name: str) -> str:
    return next(
        (
            str(e.get("value"))
            for e in env
            if isinstance(e, Mapping) and e.get("name") == name and e.get("value")
        ),
        "",
    )


def _annotations(obj: Obj) -> Mapping[str, str]:
    notes = _map(obj, "metadata").get("annotations")
    return notes if isinstance(notes, Mapping) else {}


def _name(obj: Obj) -> str:
    return str(_map(obj, "metadata").get("name") or "")


def _map(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def _list(obj: Mapping[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
