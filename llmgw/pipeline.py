"""The stages composed: config → cluster state → discovered models → integration → values.

Commands call these with a settings object; nothing here prints. The cluster is read through
exactly one source: a snapshot file when given, else the live API (imported only then).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmgw import config as config_mod
from llmgw import discovery
from llmgw.config import Config
from llmgw.discovery import ClusterState, DiscoveredModel
from llmgw.errors import ExternalError, InputError


@dataclass(frozen=True)
class Source:
    """Where cluster state comes from."""

    pods_from: Path | None = None
    kubeconfig: Path | None = None
    context: str | None = None


@dataclass(frozen=True)
class Discovery:
    config: Config
    state: ClusterState
    models: list[DiscoveredModel]


@dataclass(frozen=True)
class Rendered:
    discovery: Discovery
    integration: dict[str, Any]
    text: str
    #: Secret values the text carries (inline mode), for masking anything shown.
    secrets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def discover(config_path: Path, source: Source, probe: bool = False) -> Discovery:
    config = config_mod.load(config_path)
    if source.pods_from is not None:
        if probe:
            raise InputError(
                "--probe asks the running engines, so it needs the cluster, not --pods-from"
            )
        state = discovery.load_snapshot(source.pods_from)
        return Discovery(config, state, discovery.discover(config, state))
    from llmgw import kube

    cluster = kube.connect(kube.Connection(source.kubeconfig, source.context))
    state = kube.read_state(config, cluster)
    models = discovery.discover(config, state)
    if probe:
        configured = {
            (engine.name, m.name) for engine, _i, m in config.models.by_engine() if m.served_name
        }
        models = kube.probe(cluster, models, lambda m: (m.engine, m.name) in configured)
    return Discovery(config, state, models)


def require_complete(state: ClusterState, allow_partial: bool) -> list[str]:
    """Refuse to act on partial cluster data unless asked; return the warnings to show."""
    if not state.problems:
        return []
    if not allow_partial:
        raise ExternalError(
            "cluster data is incomplete, refusing to render from it:\n  "
            + "\n  ".join(state.problems),
            hint="retry, or pass --allow-partial to render without the models listed there",
        )
    return [f"rendering from partial data; missing: {p}" for p in state.problems]


def render(
    config_path: Path,
    source: Source,
    template: Path | None = None,
    env: Mapping[str, str] | None = None,
    allow_partial: bool = False,
    probe: bool = False,
) -> Rendered:
    from llmgw import integration
    from llmgw import render as render_mod

    found = discover(config_path, source, probe)
    warnings = require_complete(found.state, allow_partial)
    obj = integration.build(found.config, found.models, os.environ if env is None else env)
    text = render_mod.render(template or render_mod.default_template(), obj, config_path.name)
    return Rendered(found, obj, text, integration.inline_secret_values(obj), warnings)
