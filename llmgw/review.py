"""The one preview, removal guard and confirmation, for every target.

Whatever a run is about to change — chart values through helm, rows through the management
API — a user sees it in the same words (models added, removed, changed by public name), a
served name is never dropped by accident, and nothing is applied without ``--yes`` or a
terminal to ask on. Targets describe their change as a ``Preview``; this module decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from llmgw.desired import Removal
from llmgw.errors import InputError, RefusedError


@dataclass(frozen=True)
class Preview:
    new_install: bool
    added: list[str]
    removed: list[str]
    changed: list[str]
    #: Other values by key path (chart values), or router settings (the api target).
    other: list[str] = field(default_factory=list)
    #: The release itself (the values target): the chart version it runs, a state the deploy
    #: mends, and the managed Secret's keys written anew (names only).
    release_changes: list[str] = field(default_factory=list)
    diff: str = ""
    #: Where it would be applied, by name: kind (values, api), context, server, release,
    #: namespace, chart, version (and gateway for the api target). Shown before anything.
    target: dict[str, str] = field(default_factory=dict)

    def where(self) -> str:
        """One line naming the cluster, release and chart, for previews and prompts."""
        t = self.target
        parts = []
        if t.get("gateway"):
            parts.append(f"gateway {t['gateway']}")
        if t.get("release"):
            parts.append(f"release {t['release']} in namespace {t.get('namespace', '')}")
        if t.get("chart"):
            parts.append(f"chart {t['chart']} {t.get('version') or '(local)'}".rstrip())
        if t.get("server"):
            parts.append(f"cluster {t['server']} (context {t.get('context') or '?'})")
        return ", ".join(parts)

    @property
    def changes(self) -> bool:
        return bool(
            self.new_install
            or self.added
            or self.removed
            or self.changed
            or self.other
            or self.release_changes
        )


class Reporter(Protocol):
    def phase(self, name: str) -> None: ...
    def preview(self, preview: Preview) -> None: ...
    def confirm(self, question: str) -> bool | None:
        """True/False from the user; None when there is no terminal to ask on."""


def guard(what: str, reasons: Mapping[str, str]) -> None:
    """Refuse (exit 4) to drop the served names in ``reasons`` (name → why it goes)."""
    if not reasons:
        return
    renamed = any(isinstance(why, Removal) and why.renamed for why in reasons.values())
    raise RefusedError(
        f"{what}: " + "; ".join(f"{name} ({why})" for name, why in reasons.items()),
        hint=(
            "clients asking for the old names would break: keep them with "
            "gateway.model_names: plain (or a model_name each), or pass --allow-removal "
            "to switch"
        )
        if renamed
        else "wait until they are ready again, or pass --allow-removal to drop them",
    )


def ask(ui: Reporter, question: str, verb: str) -> None:
    """Ask before applying; refuse without a terminal (exit 2) or when the answer is no."""
    answer = ui.confirm(question)
    if answer is None:
        raise InputError(
            f"refusing to {verb} without confirmation: no terminal to ask on",
            hint=f"pass --yes to {verb} unattended (review with --dry-run first)",
        )
    if not answer:
        raise RefusedError(f"{verb} cancelled; nothing was changed")
