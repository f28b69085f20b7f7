"""``llmgw discover`` and ``llmgw render``: the stages composed for the two read-only commands.

config → cluster state → discovered models (``inputs``) → desired state (``desired``) → the
chart values (the values target's ``render``). Nothing here prints; the values file is
written atomically, owner-only when it carries secrets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from llmgw import inputs
from llmgw.errors import InputError
from llmgw.inputs import Discovery, Source, context, discover
from llmgw.targets import values as values_target
from llmgw.targets.values import Rendered

if TYPE_CHECKING:
    from llmgw.render import Comparison

__all__ = [
    "Discovery",
    "Rendered",
    "Source",
    "context",
    "discover",
    "render",
]


def render(
    config_path: Path,
    source: Source,
    template: Path | None = None,
    env: Mapping[str, str] | None = None,
    allow_partial: bool = False,
    probe: bool = False,
) -> Rendered:
    found = inputs.discover(config_path, source, probe)
    warnings = inputs.require_complete(found.state, allow_partial)
    env = os.environ if env is None else env
    rendered = values_target.render(
        found.desired,
        config_path,
        env,
        template,
        source=found.state.source,
        command=_command(config_path, source, template),
    )
    return replace(rendered, warnings=[*warnings, *found.reports, *rendered.warnings])


def _command(config_path: Path, source: Source, template: Path | None) -> str:
    """The render that reproduces these values (no output flags: the same for --check)."""
    import shlex

    argv = ["llmgw", "render", "-c", str(config_path)]
    if source.pods_from is not None:
        argv += ["--pods-from", str(source.pods_from)]
    if source.kubeconfig is not None:
        argv += ["--kubeconfig", str(source.kubeconfig)]
    if source.context:
        argv += ["--context", source.context]
    if template is not None:
        argv += ["--template", str(template)]
    return shlex.join(argv)


def check_out_path(path: Path) -> None:
    """Where ``--out`` writes must be a directory that exists, checked before any work."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(
            f"--out {path}: the directory {directory} does not exist",
            hint=f"create it first (mkdir -p {directory}), or fix the path",
        )


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
