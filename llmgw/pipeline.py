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
from llmgw.errors import InputError


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


def read_state(config: Config, source: Source) -> ClusterState:
    if source.pods_from is not None:
        return discovery.load_snapshot(source.pods_from)
    raise InputError(
        "live discovery is not available yet: pass --pods-from FILE",
        hint="make a snapshot with: kubectl get pods,services -A -o yaml > cluster.yaml",
    )


def discover(config_path: Path, source: Source) -> Discovery:
    config = config_mod.load(config_path)
    state = read_state(config, source)
    return Discovery(config, state, discovery.discover(config, state))


def render(
    config_path: Path,
    source: Source,
    template: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Rendered:
    from llmgw import integration
    from llmgw import render as render_mod

    found = discover(config_path, source)
    obj = integration.build(found.config, found.models, os.environ if env is None else env)
    text = render_mod.render(template or render_mod.default_template(), obj, config_path.name)
    return Rendered(found, obj, text, integration.inline_secret_values(obj))
