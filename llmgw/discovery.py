"""Which configured models really run, decided the same way for every source.

A source (a snapshot file in ``snapshot.py``, the live API in ``kube/``) only produces a
``ClusterState``: the pods and services of the namespaces that matter, as the plain JSON objects
the Kubernetes API returns, checked at that boundary. ``discover`` is pure and turns that state
into one ``DiscoveredModel`` per configured model, so readiness, api_base and served-name rules
cannot drift between sources.

A model comes from one of two places: an entry in ``models:`` (its pods picked by ``app=<name>``
or its selector), or a ``discover:`` rule, whose pods are grouped into models by their name
label and engine; labels and annotations are untrusted input, checked like config values, and
a pod whose values fail is reported and left out. An entry always wins over a rule for the
same pods.
"""

from __future__ import annotations

import difflib
import enum
import math
import shlex
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from llmgw.config import Config, DiscoverRule, SecretRef, SelfHostedModel, model_key
from llmgw.engines import ENGINE_NAMES, ENGINES, Engine, by_image, by_program
from llmgw.redact import excerpt
from llmgw.selector import Selector, equality
from llmgw.state import ClusterState, Obj, ProbeAnswer, ProbeTarget, Wanted, describe

#: The labels a label-found model is named by, in order.
NAME_LABELS = ("app.kubernetes.io/name", "app")
#: The label that names a pod's engine (``engine: auto``).
ENGINE_LABEL = "llmgw.io/engine"
#: Annotations (on the pod, so on its Deployment's pod template) a label-found model reads.
NAME_ANNOTATION = "llmgw.io/model-name"
WEIGHT_ANNOTATION = "llmgw.io/weight"
ORDER_ANNOTATION = "llmgw.io/order"
#: Model servers no rule selects, reported at most this many times (then a count).
MAX_UNSELECTED = 20

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


class Absence(enum.Enum):
    """Why a model has no Ready pod, as a decision reads it (``reason`` is for people).

    Only ``NOT_READY`` may come back by itself soon (a pod starting, a probe failing for a
    while): the controller keeps such a model in place for its grace. The others mean there
    is nothing to route to.
    """

    #: At least one pod is Ready.
    NONE = "none"
    #: Some pod is there and may become Ready (starting, probe failing, crash-looping).
    NOT_READY = "not ready"
    #: Every pod is going or cannot be reached: terminating, or Ready without an IP.
    GONE = "gone"
    #: No pod matches.
    NO_PODS = "no pods"
    #: Its namespace does not exist.
    NO_NAMESPACE = "no namespace"
    #: Its namespace could not be listed.
    UNKNOWN = "unknown"
    #: It runs, but nothing routes to it (no Service for a LeaderWorkerSet's leaders, no
    #: HTTPRoute for an InferencePool): there is no address to give the gateway.
    UNROUTABLE = "unroutable"


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
    #: Why the model is not ready, in words; empty when it is.
    reason: str = ""
    #: Why the model is not ready, for decisions.
    absence: Absence = Absence.NONE
    notes: tuple[str, ...] = field(default=())
    #: The name clients ask for (``vllm/<name>`` by default).
    public_name: str = ""
    #: The ``discover:`` rule that found it (its index); None for an entry of ``models:``.
    rule: int | None = None
    #: A label-found model's settings, read from its labels and annotations.
    spec: SelfHostedModel | None = None
    #: No Service selects its pods and none is configured: ``api_base`` is a guess.
    guessed_address: bool = False
    #: The serving resource it was found as (``InferenceService/llama``); empty for pods.
    resource: str = ""

    @property
    def key(self) -> tuple[str, ...]:
        """What identifies it (``Deployment.key``): a label-found one by namespace too."""
        return model_key(self.engine, self.name, None if self.rule is None else self.namespace)

    @property
    def found_by(self) -> str:
        if self.rule is None:
            return "models"
        return f"discover[{self.rule}]" + (f" {self.resource}" if self.resource else "")

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
            "found_by": self.found_by,
        }


# -- readiness ------------------------------------------------------------------------------


def pod_readiness(pod: Obj) -> tuple[bool, str]:
    """Whether a pod can take traffic now, and if not, the reason a user can act on."""
    absence, reason = pod_state(pod)
    return absence is Absence.NONE, reason


def pod_state(pod: Obj) -> tuple[Absence, str]:
    """A pod's readiness: NONE (Ready), NOT_READY (may become Ready) or GONE, and why.

    Ready means phase Running, condition Ready=True (not Unknown, not missing), no
    deletionTimestamp and a pod IP. Seeing the pod's name is not enough: a crash-looping pod
    is listed like a healthy one.
    """
    ok, reason = _pod_readiness(pod)
    if ok:
        return Absence.NONE, ""
    gone = reason in ("terminating", "no pod IP")
    return (Absence.GONE if gone else Absence.NOT_READY), reason


def _pod_readiness(pod: Obj) -> tuple[bool, str]:
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


def labels_of(obj: Obj) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def matches_labels(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _find_service(
    model: SelfHostedModel,
    engine: Engine,
    pods: Sequence[Obj],
    services: Sequence[Obj],
    index: _ServiceIndex,
) -> Obj | None:
    """The Service in front of the pods. Several may select them (a metrics Service, a
    catch-all over every model of a rule): the one with the engine's port wins, then the one
    with the most specific selector, since a broader one also reaches other models' pods."""
    if model.service:
        return next(
            (s for s in services if s.get("metadata", {}).get("name") == model.service), None
        )

    def rank(svc: Obj) -> tuple[bool, int]:
        spec = svc.get("spec") or {}
        ports = spec.get("ports") or []
        serves = any(engine.port in (p.get("targetPort"), p.get("port")) for p in ports)
        return serves, len(spec.get("selector") or {})

    for labels in [labels_of(p) for p in pods] or [model.selector_labels()]:
        matching = [
            svc
            for svc in index.candidates(labels)
            if matches_labels(labels, (svc.get("spec") or {}).get("selector") or {})
        ]
        if matching:
            return max(matching, key=rank)
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


def _first_served(engine: Engine, pods: Sequence[Obj]) -> str | None:
    return next((n for p in pods if (n := served_name_from_pod(engine, p))), None)


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
        return [o for o in by_value.get(value, ()) if matches_labels(self._labels_of(o), selector)]


@dataclass(frozen=True)
class Findings:
    #: Listed models in config order, then label-found ones by rule, namespace and name.
    models: list[DiscoveredModel]
    #: Pods left out, and why, in words a user can act on: a rule's pod whose engine is
    #: unknown or whose labels or annotations fail, and model servers no rule selects.
    reports: list[str]


def discover(config: Config, state: ClusterState) -> list[DiscoveredModel]:
    """Every model: one per entry of ``models:``, then one per model the rules find."""
    return find(config, state).models


def find(config: Config, state: ClusterState) -> Findings:
    index = _LabelIndex(state.pods, labels_of)
    services = {ns: _ServiceIndex(svcs) for ns, svcs in state.services.items()}
    listed: list[DiscoveredModel] = []
    selectors: list[Mapping[str, str]] = []
    claimed: dict[int, int] = {}  # id(pod) → the listed model that has it
    for engine, _index, model in config.models.by_engine():
        selectors.append(model.selector_labels())
        namespace = model_namespace(engine, model)
        pods = index.matching(namespace, model.selector_labels())
        for pod in pods:
            claimed.setdefault(id(pod), len(listed))
        found = _model(engine, namespace, model, pods, state, services)
        listed.append(replace(found, public_name=config.public_name(engine.name, model)))
    reports: list[str] = []
    also: dict[int, set[int]] = {}
    taken: set[int] = set(claimed)
    by_rules = _by_rules(config, state, services, claimed, also, taken, reports)
    for i, rules in also.items():
        named = ", ".join(f"discover[{r}]" for r in sorted(rules))
        note = f"also selected by {named}: this models entry wins"
        listed[i] = replace(listed[i], notes=(*listed[i].notes, note))
    suggestions = _Suggestions(state)
    listed = [suggestions.apply(m, sel) for m, sel in zip(listed, selectors, strict=True)]
    from llmgw import serving

    seen: set[tuple[str, str, str]] = set()
    for number, rule in enumerate(config.discover):
        if rule.kind != "Pod":
            by_rules += serving.find(config, state, rule, number, reports, seen)
    by_rules.sort(key=lambda m: m.rule or 0)  # rule order; each rule's own order kept
    owned = {id(p) for pods in state.pods.values() for p in pods if serving.owner(p)}
    reports += _unselected(state, taken | owned, set(wanted(config)))
    return Findings([*listed, *by_rules], reports)


def model_namespace(engine: Engine, model: SelfHostedModel) -> str:
    return model.namespace or engine.namespace


def _model(
    engine: Engine,
    namespace: str,
    model: SelfHostedModel,
    pods: Sequence[Obj],
    state: ClusterState,
    services: Mapping[str, _ServiceIndex],
) -> DiscoveredModel:
    """What a model's pods say: ready or why not, where its Service is, what it serves."""
    states = [pod_state(p) for p in pods]
    verdicts = [(absence is Absence.NONE, why) for absence, why in states]
    ready_pods = [p for p, (ok, _) in zip(pods, verdicts, strict=True) if ok]

    svc = _find_service(
        model,
        engine,
        pods,
        state.services.get(namespace, ()),
        services.get(namespace, _ServiceIndex(())),
    )
    notes: list[str] = []
    guessed = False
    if svc is not None:
        service: str | None = str(svc["metadata"]["name"])
        port = model.port or _service_port(svc, engine) or engine.port
    else:
        service = model.service
        port = model.port or engine.port
        if pods and not model.service:
            notes.append(f"no Service selects these pods; using http://{model.name}.{namespace}")
            guessed = True
    host = f"{service or model.name}.{namespace}"

    served = model.served_name
    if served is None:
        names = list(dict.fromkeys(n for p in ready_pods if (n := served_name_from_pod(engine, p))))
        if len(names) > 1:
            # One Service in front of both: a request for one model reaches the other's pods.
            notes.append(
                f"its Ready pods serve different models ({', '.join(names)}): give each its "
                "own name label, or set served_name"
            )
        # No Ready pod says: one that is not ready yet may.
        waiting = [p for p, (ok, _) in zip(pods, verdicts, strict=True) if not ok]
        served = names[0] if names else _first_served(engine, waiting)
    served = served or model.name

    absence = Absence.NONE
    if ready_pods:
        reason = ""
    elif namespace in state.failed_namespaces:
        absence, reason = Absence.UNKNOWN, f"unknown: listing namespace {namespace} failed"
    elif state.namespaces is not None and namespace not in state.namespaces:
        absence, reason = Absence.NO_NAMESPACE, f"namespace {namespace} missing"
    elif not pods:
        labels = ",".join(f"{k}={v}" for k, v in model.selector_labels().items())
        absence, reason = Absence.NO_PODS, f"no pods match {labels} in namespace {namespace}"
    else:
        # One pod that may still become Ready is enough to wait for, whatever the order the
        # pods are listed in (a Recreate rollout: the old pod terminating, the new one starting).
        coming = any(a is Absence.NOT_READY for a, _ in states)
        absence = Absence.NOT_READY if coming else Absence.GONE
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
        absence=absence,
        notes=tuple(notes),
        guessed_address=guessed,
    )


# -- models found by label ------------------------------------------------------------------


def _by_rules(
    config: Config,
    state: ClusterState,
    services: Mapping[str, _ServiceIndex],
    claimed: Mapping[int, int],
    also: dict[int, set[int]],
    taken: set[int],
    reports: list[str],
) -> list[DiscoveredModel]:
    """The models the ``discover:`` rules find.

    A pod an entry of ``models:`` has stays that entry's (``also`` collects which rules
    selected it too); a pod two rules select is the first one's; ``taken`` gets every pod a
    rule selected, served or reported. Pods are grouped by namespace, engine and name (its
    identity, whichever rules selected them: it is found by the first); a group's settings come
    from its first Ready pod (pods of one Deployment share their template's annotations;
    during a rollout the serving ones count).
    """
    groups: dict[tuple[str, str, str], list[tuple[Obj, SelfHostedModel]]] = {}
    first: dict[tuple[str, str, str], int] = {}  # the rule that found each group first
    from llmgw import serving

    specs: dict[tuple[Any, ...], SelfHostedModel | str] = {}  # a Deployment's pods share one
    left_to: dict[tuple[int, str, str], list[Obj]] = {}  # pods a serving resource serves
    pooled = serving.pool_members(state) if state.resources.get("InferencePool") else {}
    for number, rule in enumerate(config.discover):
        if rule.kind != "Pod":
            continue
        selector = rule.parsed()
        for namespace in rule.namespaces:
            for pod in state.pods.get(namespace, ()):
                if not selector.matches(labels_of(pod)):
                    continue
                if id(pod) in claimed:
                    also.setdefault(claimed[id(pod)], set()).add(number)
                    continue
                if id(pod) in taken:
                    continue
                taken.add(id(pod))
                resource = serving.owner(pod) or pooled.get(id(pod))
                if resource is not None:  # said once per resource, below
                    left_to.setdefault((number, namespace, resource), []).append(pod)
                    continue
                read = _read_pod(pod, rule, namespace, specs)
                if isinstance(read, str):
                    reports.append(f"{describe(pod)} (discover[{number}]): {read}; left out")
                    continue
                engine_name, spec = read
                key = (namespace, engine_name, spec.name)
                first.setdefault(key, number)
                groups.setdefault(key, []).append((pod, spec))
    for (number, namespace, resource), pods in left_to.items():
        kind = resource.split("/")[0]
        what = describe(pods[0]) if len(pods) == 1 else f"{len(pods)} pods in {namespace!r}"
        reports.append(
            f"{what} (discover[{number}]): belongs to {resource}: left to it (a rule with "
            f"kind: {kind} serves it once, where it is served)"
        )
    modes = {d.public_name: (d.mode, d.kind) for d in config.deployments()}
    out: list[DiscoveredModel] = []
    for key in sorted(groups, key=lambda k: (first[k], *k)):
        number, (namespace, engine_name, _name), members = first[key], key, groups[key]
        engine = ENGINES[engine_name]
        pods = [pod for pod, model_spec in members]
        spec = next((sp for pod, sp in members if pod_readiness(pod)[0]), members[0][1])
        public = config.public_name(engine.name, spec)
        mode, kind = modes.setdefault(public, (engine.mode, engine.name))
        if mode != engine.mode:
            reports.append(
                f"{describe(pods[0])} (discover[{number}]): {excerpt(public)} is a group of "
                f"{mode} models ({kind}); a {engine.mode} model ({engine.name}) cannot join it; "
                "left out"
            )
            continue
        found = _model(engine, namespace, spec, pods, state, services)
        out.append(replace(found, public_name=public, rule=number, spec=spec))
    return out


def _read_pod(
    pod: Obj,
    rule: DiscoverRule,
    namespace: str,
    specs: dict[tuple[Any, ...], SelfHostedModel | str],
) -> tuple[str, SelfHostedModel] | str:
    """A rule's pod as (engine, settings), or why it cannot be served (``specs`` keeps the
    settings checked for pods with the same values)."""
    labels = labels_of(pod)
    name = labels.get(NAME_LABELS[0]) or labels.get(NAME_LABELS[1])
    if not name:
        return f"no {' or '.join(NAME_LABELS)} label to name the model by"
    engine: str | None = rule.engine if rule.engine != "auto" else None
    if engine is None:
        label = labels.get(ENGINE_LABEL)
        if label is not None:
            if label not in ENGINES:
                return (
                    f"label {ENGINE_LABEL}: {excerpt(label)} is not an engine "
                    f"({', '.join(ENGINE_NAMES)})"
                )
            engine = label
        else:
            recognised = recognise(pod)
            if recognised is None:
                return (
                    f"engine unknown: set the label {ENGINE_LABEL} (one of "
                    f"{', '.join(ENGINE_NAMES)}), or engine: on the rule"
                )
            engine = recognised[0].name
    notes = pod["metadata"].get("annotations") or {}
    key = (
        name,
        namespace,
        rule.api_key,
        notes.get(NAME_ANNOTATION),
        notes.get(WEIGHT_ANNOTATION),
        notes.get(ORDER_ANNOTATION),
    )
    spec = specs.get(key)
    if spec is None:
        spec = specs[key] = model_spec(*key)
    return spec if isinstance(spec, str) else (engine, spec)


def model_spec(
    name: str,
    namespace: str,
    api_key: SecretRef | None,
    model_name: str | None,
    weight: str | None,
    order: str | None,
) -> SelfHostedModel | str:
    """A label-found model's settings, checked as the config's are, or what is wrong."""
    values: dict[str, Any] = {"name": name, "namespace": namespace, "api_key": api_key}
    if model_name is not None:
        values["model_name"] = model_name
    for key, annotation, raw, number in (
        ("weight", WEIGHT_ANNOTATION, weight, _weight),
        ("order", ORDER_ANNOTATION, order, _order),
    ):
        if raw is not None:
            parsed = number(raw)
            if parsed is None:
                return f"annotation {annotation}: {excerpt(raw)} is not a {key}"
            values[key] = parsed
    try:
        return SelfHostedModel(**values)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field_name = str(err["loc"][0]) if err["loc"] else ""
        source = {
            "name": f"label {NAME_LABELS[0]}/{NAME_LABELS[1]}",
            "model_name": f"annotation {NAME_ANNOTATION}",
        }.get(field_name, field_name)
        message = str(err["msg"]).removeprefix("Value error, ")
        return f"{source}: {excerpt(values.get(field_name, ''))}: {message}"


def _weight(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _order(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 9 and int(text) >= 1 else None


def recognise(pod: Obj) -> tuple[Engine, str] | None:
    """The engine a pod's serving container runs, and the image that gave it away ("" when
    its command did), from the first container that says; sidecars say nothing."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        image = str(container.get("image") or "")
        engine = by_image(image) if image else None
        if engine is not None:
            return engine, image
        engine = by_program(_argv(container))
        if engine is not None:
            return engine, ""
    return None


class _Suggestions:
    """Did-you-mean for listed names with no pods: a namespace's name labels, read once; the
    same name in other spelling (case, ``.`` or ``_`` for ``-``) always, a close one by
    difflib for the first ``budget`` names only (it costs a comparison per label)."""

    def __init__(self, state: ClusterState, budget: int = 20) -> None:
        self.state = state
        self.budget = budget
        self.names: dict[str, dict[str, str]] = {}  # namespace → label value → its key
        self.spelt: dict[str, dict[str, str]] = {}  # namespace → spelling → label value

    def _of(self, namespace: str) -> dict[str, str]:
        names = self.names.get(namespace)
        if names is None:
            names = self.names[namespace] = {}
            for pod in self.state.pods.get(namespace, ()):
                labels = labels_of(pod)
                for key in reversed(NAME_LABELS):  # ``app`` first: what an entry selects by
                    if labels.get(key):
                        names.setdefault(labels[key], key)
            self.spelt[namespace] = {_spelling(n): n for n in reversed(names)}
        return names

    def apply(self, m: DiscoveredModel, selector: Mapping[str, str]) -> DiscoveredModel:
        """A listed model with no pod, picked by the default ``app=<name>``: the name the
        pods there carry that is spelt like it."""
        if m.absence is not Absence.NO_PODS or selector != {"app": m.name}:
            return m
        names = self._of(m.namespace)
        same = self.spelt[m.namespace].get(_spelling(m.name))
        close = [same] if same is not None else []
        if not close and self.budget > 0:
            self.budget -= 1
            close = difflib.get_close_matches(m.name, list(names), n=1, cutoff=0.75)
        if not close:
            return m
        return replace(m, reason=f"{m.reason}; did you mean {names[close[0]]}={close[0]}?")


def _spelling(name: str) -> str:
    return name.lower().replace(".", "-").replace("_", "-")


def _unselected(state: ClusterState, seen: set[int], namespaces: set[str]) -> list[str]:
    """Ready pods in the namespaces llmgw reads that look like model servers but that no
    entry or rule selects."""
    out: list[str] = []
    for namespace in sorted(namespaces & set(state.pods)):
        for pod in state.pods[namespace]:
            if id(pod) in seen or not pod_readiness(pod)[0]:
                continue
            recognised = recognise(pod)
            if recognised is not None:
                engine, image = recognised
                why = f"image {excerpt(image, 80)}" if image else "command"
                out.append(
                    f"{describe(pod)}: a {engine.name} server ({why}), Ready, not served: "
                    "no rule selects it"
                )
    if len(out) > MAX_UNSELECTED:
        more = len(out) - MAX_UNSELECTED
        out = [*out[:MAX_UNSELECTED], f"… and {more} more model servers no rule selects"]
    return out


# -- what to read, and what probing found ---------------------------------------------------


def wanted(config: Config, everything: bool = False) -> dict[str, Wanted]:
    """Per namespace holding listed models or searched by a rule: the selectors to list its
    pods by; ``everything`` lists whole namespaces (``discover`` reports what nothing
    selects)."""
    selectors: dict[str, list[Selector]] = {}
    kinds: dict[str, set[str]] = {}
    whole: set[str] = set()
    for engine, _index, model in config.models.by_engine():
        ns = model_namespace(engine, model)
        selectors.setdefault(ns, []).append(equality(model.selector_labels()))
    for rule in config.discover:
        for ns in rule.namespaces:
            if rule.kind == "Pod":
                selectors.setdefault(ns, []).append(rule.parsed())
                continue
            # A resource's pods (its leaders, its pool's members, its engines) carry the
            # resource's labels, not the rule's: the namespace's pods are read whole.
            selectors.setdefault(ns, [])
            whole.add(ns)
            from llmgw import serving

            kinds.setdefault(ns, set()).update(serving.KINDS_READ[rule.kind])
    return {
        ns: Wanted(
            tuple(dict.fromkeys(selectors[ns])),
            everything or ns in whole,
            frozenset(kinds.get(ns, ())),
        )
        for ns in sorted(selectors)
    }


def probe_targets(models: Sequence[DiscoveredModel]) -> list[tuple[DiscoveredModel, ProbeTarget]]:
    """The ready models that have a Service, with where to ask their engine."""
    out = []
    for m in models:
        if m.ready and m.resource:  # where the resource serves: its Service, Gateway or router
            url = urlsplit(m.api_base)
            host = (url.hostname or "").split(".")
            if len(host) >= 2:
                path = url.path.rstrip("/") + "/models"
                out.append((m, ProbeTarget(host[1], host[0], url.port or 80, path)))
            continue
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
