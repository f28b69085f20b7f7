"""The stages composed: config → cluster state → discovered models → integration → values.

Commands call these with a settings object; nothing here prints. The cluster is read through
exactly one source: a snapshot file when given, else the live API (imported only then).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmgw import config as config_mod
from llmgw import discovery, yamlsrc
from llmgw.config import Config
from llmgw.discovery import DiscoveredModel
from llmgw.errors import ExternalError, InputError
from llmgw.state import ClusterState

if TYPE_CHECKING:
    from llmgw.kube.auth import Cluster
    from llmgw.render import Comparison


@dataclass(frozen=True)
class Source:
    """Where cluster state comes from."""

    pods_from: Path | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    #: State already read (the controller's watched view): used as it is.
    state: ClusterState | None = None


@dataclass(frozen=True)
class Discovery:
    config: Config
    state: ClusterState
    models: list[DiscoveredModel]

    @property
    def notes(self) -> list[str]:
        """What the router will do about it: fallbacks left out, names answered by another."""
        from llmgw import integration

        return integration.router_plan(self.config, self.models).warnings


@dataclass(frozen=True)
class Rendered:
    discovery: Discovery
    integration: dict[str, Any]
    text: str
    #: ``text`` parsed: the chart values.
    values: dict[str, Any]
    #: Secret values the text carries (inline mode), for masking anything shown.
    secrets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: (pod env var, environment variable, key path) of secrets whose variable is not set.
    unset: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def model_names(self) -> list[str]:
        """The public model names the values serve."""
        from llmgw.render import model_names

        return model_names(self.values)


def discover(config_path: Path, source: Source, probe: bool = False) -> Discovery:
    config = config_mod.load(config_path)
    if source.state is not None:
        return Discovery(config, source.state, discovery.discover(config, source.state))
    if source.pods_from is not None:
        if probe:
            raise InputError(
                "--probe asks the running engines, so it needs the cluster, not --pods-from"
            )
        from llmgw import snapshot

        state = snapshot.load(source.pods_from)
        return Discovery(config, state, discovery.discover(config, state))
    from llmgw.kube import auth, read

    cluster = auth.connect(auth.Connection(source.kubeconfig, source.context))
    state = read.read_state(cluster, discovery.wanted(config))
    models = discovery.discover(config, state)
    if probe:
        configured = {
            (engine.name, m.name) for engine, _i, m in config.models.by_engine() if m.served_name
        }
        models = probe_models(cluster, models, lambda m: (m.engine, m.name) in configured)
    return Discovery(config, state, models)


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
    placeholders: bool = False,
) -> Rendered:
    """``placeholders``: render even when secret variables are not set (a preview), with a
    placeholder where an inline secret would be; ``Rendered.unset`` names them."""
    from llmgw import integration
    from llmgw import render as render_mod

    found = discover(config_path, source, probe)
    warnings = require_complete(found.state, allow_partial)
    env = os.environ if env is None else env
    unset = integration.unset_secret_vars(found.config, env)
    if placeholders and unset:
        env = {**env, **{var: f"(unset {var})" for _name, var, _path in unset}}
    obj = integration.build(found.config, found.models, env)
    warnings += obj["warnings"]
    secrets = integration.inline_secret_values(obj)
    chosen = template or render_mod.default_template(found.config.gateway.chart_kind)
    text = render_mod.render(chosen, obj, config_path.name, secrets)
    values = yamlsrc.load(text, config_path)
    return Rendered(found, obj, text, values, secrets, warnings, unset)


def printable_values(result: Rendered) -> str:
    """The values for stdout; refused when they carry secrets (inline mode)."""
    if result.secrets:
        raise InputError(
            "--stdout would print secrets (secrets.mode: inline)",
            hint="write them to a file with --out, or use secrets.mode: reference",
        )
    return result.text


def check_file(result: Rendered, path: Path) -> Comparison:
    """How the values file on disk differs from this render (secrets masked)."""
    from llmgw.render import file_diff

    return file_diff(path, result.text, result.secrets)


def write_values(result: Rendered, path: Path) -> None:
    """Replace the values file atomically; owner-only when it carries secrets."""
    from llmgw import files

    files.write_atomic(path, result.text, private=bool(result.secrets))
