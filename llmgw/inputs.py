"""What every run reads first: the config and the cluster (a snapshot or the live API; the
controller's watched view through ``found_in``), turned into discovered models.

Nothing here prints or decides what the gateway serves (that is ``desired``); the cluster is
read through exactly one source, and the live API's client is imported only when it is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw import config as config_mod
from llmgw import desired, discovery
from llmgw.config import Config
from llmgw.desired import DesiredState
from llmgw.discovery import DiscoveredModel
from llmgw.errors import ExternalError, InputError
from llmgw.state import ClusterState, ProbeAnswer, ProbeTarget

if TYPE_CHECKING:
    from llmgw.kube.auth import Cluster
    from llmgw.kube.informer import Backoff


@dataclass(frozen=True)
class Source:
    """Where cluster state comes from."""

    pods_from: Path | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    #: Read whole namespaces (still one LIST each), so model servers that nothing selects
    #: and names close to a listed one can be reported (``discover``).
    everything: bool = False


@dataclass(frozen=True)
class Discovery:
    config: Config
    state: ClusterState
    models: list[DiscoveredModel]
    #: Pods left out, and model servers no rule selects (``discovery.Findings.reports``).
    reports: tuple[str, ...] = ()

    @cached_property
    def desired(self) -> DesiredState:
        return desired.build(self.config, self.models)

    @property
    def notes(self) -> list[str]:
        """What the router will do about it: fallbacks left out, names answered by another."""
        return [*self.state.notes, *self.desired.warnings]


@dataclass(frozen=True)
class Run:
    """What one command run shares: where cluster state comes from, the environment, and one
    connection to the cluster, made on first use and handed to every stage (discovery, the
    targets, the gateway), so a run opens one Kubernetes client."""

    source: Source
    env: Mapping[str, str]
    connect: Callable[[], Cluster]

    def discover(self, config_path: Path, probe: bool = False) -> Discovery:
        return discover(config_path, self.source, probe, self.connect)


def context(
    source: Source,
    env: Mapping[str, str] | None = None,
    connect: Callable[[], Cluster] | None = None,
) -> Run:
    """The context of one run; ``connect`` is given by tests and by a caller that already
    holds the run's connection."""
    if connect is None:
        from llmgw.kube import auth

        connect = auth.connector(auth.Connection(source.kubeconfig, source.context))
    return Run(source, os.environ if env is None else env, connect)


def discover(
    config_path: Path,
    source: Source,
    probe: bool = False,
    connect: Callable[[], Cluster] | None = None,
) -> Discovery:
    """``connect``: the run's connection (``Run.connect``); without one, one is made here."""
    config = config_mod.load(config_path)
    if source.pods_from is not None:
        if probe:
            raise InputError(
                "--probe asks the running engines, so it needs the cluster, not --pods-from"
            )
        from llmgw import snapshot

        return found_in(config, snapshot.load(source.pods_from))
    from llmgw.kube import auth, read

    try:
        cluster = (
            connect()
            if connect
            else auth.connect(auth.Connection(source.kubeconfig, source.context))
        )
    except InputError as exc:  # reading pods is what --pods-from replaces
        raise InputError(
            exc.message, hint=f"{exc.hint}, or use --pods-from FILE for a snapshot"
        ) from None
    found = found_in(config, read.read_state(cluster, discovery.wanted(config, source.everything)))
    if probe:
        return replace(found, models=Prober().probe(cluster, config, found.models).models)
    return found


def found_in(config: Config, state: ClusterState) -> Discovery:
    """The models ``config`` asks for, found in ``state`` (the controller's view, or a read)."""
    findings = discovery.find(config, state)
    return Discovery(config, state, findings.models, tuple(findings.reports))


@dataclass(frozen=True)
class _Asked:
    """What a model's engine said, for the pods it said it about."""

    signature: tuple[Any, ...]
    answer: ProbeAnswer
    #: When a failed probe may be asked again.
    retry_at: float
    failures: int


@dataclass(frozen=True)
class Probed:
    models: list[DiscoveredModel]
    #: Engines asked this time.
    asked: int = 0
    #: Seconds until a failed probe may be asked again (None: none failed).
    retry_in: float | None = None


class Prober:
    """``--probe``: ask each ready model's engine what it serves, through the API server.

    A one-off command asks every engine once. The controller keeps one Prober: an engine is
    asked again only when its pods change (``signature``: a new pod, a new IP), not on every
    reconcile, and a failed answer is asked again with capped back-off.
    """

    def __init__(self, backoff: Backoff | None = None) -> None:
        from llmgw.kube.informer import Backoff

        self.backoff = backoff or Backoff()
        self.asked: dict[tuple[str, ...], _Asked] = {}

    def probe(
        self,
        cluster: Cluster,
        config: Config,
        models: list[DiscoveredModel],
        signature: Callable[[str], tuple[Any, ...]] = lambda _ns: (),
        now: float = 0.0,
    ) -> Probed:
        from llmgw.kube import read

        answers: dict[int, ProbeAnswer] = {}
        asking: list[tuple[DiscoveredModel, ProbeTarget, tuple[Any, ...]]] = []
        retry: list[float] = []
        for m, target in discovery.probe_targets(models):
            sig = (target, signature(m.namespace))
            cached = self.asked.get(m.key)
            fresh = cached is not None and cached.signature == sig
            if (
                cached is not None
                and fresh
                and (not cached.answer.problem or now < cached.retry_at)
            ):
                answers[id(m)] = cached.answer
                if cached.answer.problem:
                    retry.append(cached.retry_at - now)  # still ask again then
                continue
            asking.append((m, target, sig))
        if asking:
            got = read.probe(cluster, [t for _m, t, _s in asking])
            for (m, _t, sig), answer in zip(asking, got, strict=True):
                failures = 0
                if answer.problem:
                    old = self.asked.get(m.key)
                    failures = (old.failures if old and old.signature == sig else 0) + 1
                delay = self.backoff.delay(failures) if failures else 0.0
                self.asked[m.key] = _Asked(sig, answer, now + delay, failures)
                if failures:
                    retry.append(delay)
                answers[id(m)] = answer
        probed = discovery.apply_probe(models, answers, configured_by(config))
        return Probed(probed, len(asking), min(retry, default=None))


def configured_by(config: Config) -> Callable[[DiscoveredModel], bool]:
    """Whether a model's served name comes from the config (``served_name:``), so a probe
    that finds another is worth saying."""
    named = {(e.name, m.name) for e, _i, m in config.models.by_engine() if m.served_name}
    return lambda m: m.rule is None and m.key in named


def require_complete(state: ClusterState, allow_partial: bool) -> list[str]:
    """Refuse to act on partial cluster data unless asked; return the warnings to show (the
    source's own notes first)."""
    if not state.problems:
        return list(state.notes)
    if not allow_partial:
        forbidden = bool(state.forbidden_namespaces)
        raise ExternalError(
            "cluster data is incomplete, refusing to render from it:\n  "
            + "\n  ".join(state.problems),
            hint=(
                "grant the read rights in docs/rbac.yaml for that namespace, or pass "
                "--allow-partial to render without its models"
            )
            if forbidden
            else "retry, or pass --allow-partial to render without the models listed there",
        )
    return [*state.notes, *(f"rendering from partial data; missing: {p}" for p in state.problems)]
