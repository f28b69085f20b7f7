"""What every run reads first: the config and the cluster (a snapshot, the live API, or the
controller's watched view), turned into discovered models.

Nothing here prints or decides what the gateway serves (that is ``desired``); the cluster is
read through exactly one source, and the live API's client is imported only when it is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from llmgw import config as config_mod
from llmgw import desired, discovery
from llmgw.config import Config
from llmgw.desired import DesiredState
from llmgw.discovery import DiscoveredModel
from llmgw.errors import ExternalError, InputError
from llmgw.state import ClusterState

if TYPE_CHECKING:
    from llmgw.kube.auth import Cluster


@dataclass(frozen=True)
class Source:
    """Where cluster state comes from."""

    pods_from: Path | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    #: State already read (the controller's watched view): used as it is.
    state: ClusterState | None = None
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
    if source.state is not None:
        return _found(config, source.state)
    if source.pods_from is not None:
        if probe:
            raise InputError(
                "--probe asks the running engines, so it needs the cluster, not --pods-from"
            )
        from llmgw import snapshot

        return _found(config, snapshot.load(source.pods_from))
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
    found = _found(config, read.read_state(cluster, discovery.wanted(config, source.everything)))
    if probe:
        configured = {
            (engine.name, m.name) for engine, _i, m in config.models.by_engine() if m.served_name
        }
        models = probe_models(
            cluster, found.models, lambda m: m.rule is None and m.key in configured
        )
        return replace(found, models=models)
    return found


def _found(config: Config, state: ClusterState) -> Discovery:
    findings = discovery.find(config, state)
    return Discovery(config, state, findings.models, tuple(findings.reports))


def probe_models(
    cluster: Cluster,
    models: list[DiscoveredModel],
    configured: Callable[[DiscoveredModel], bool],
) -> list[DiscoveredModel]:
    """Ask each ready model's engine what it serves (``--probe``), and apply the answers."""
    from llmgw.kube import read

    targets = discovery.probe_targets(models)
    answers = read.probe(cluster, [t for _m, t in targets])
    by_model = {id(m): a for (m, _t), a in zip(targets, answers, strict=True)}
    return discovery.apply_probe(models, by_model, configured)


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
