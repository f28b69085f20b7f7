"""``llmgw sync``: put the models into the running gateway through LiteLLM's management API.

The same discovery, readiness, names and groups as ``render`` give the desired state; the api
target turns it into row writes. The words and exit codes are deploy's (``review``): a preview
by public name, ``--dry-run`` exits 1 when something would change, a served name is not
dropped without ``--allow-removal``, nothing is written without ``--yes`` or a terminal to ask
on, and a gateway in step gets no write at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmgw import gateway_client, inputs, targets
from llmgw.errors import InputError
from llmgw.review import Reporter
from llmgw.targets import base
from llmgw.targets.api import Outcome, outcome

__all__ = ["Outcome", "Settings", "run"]


@dataclass(frozen=True)
class Settings:
    config_path: Path
    source: inputs.Source
    gateway_url: str | None = None
    dry_run: bool = False
    yes: bool = False
    allow_removal: bool = False
    allow_partial: bool = False
    #: Seconds to wait for every replica to show the writes; default: 3 reload intervals + 5.
    confirm_timeout: float | None = None
    #: After the writes: the names added or changed must answer through the gateway.
    verify: bool = False


def run(
    settings: Settings,
    ui: Reporter,
    env: Mapping[str, str] | None = None,
    connect: Callable[[], Any] | None = None,
) -> Outcome:
    ctx = inputs.context(settings.source, env, connect)
    env, connect = ctx.env, ctx.connect
    ui.phase("discover")
    found = ctx.discover(settings.config_path)
    warnings = [
        *inputs.require_complete(found.state, settings.allow_partial),
        *found.desired.warnings,
    ]
    target = targets.models_api(
        found.config, env, connect, settings.gateway_url, confirm_timeout=settings.confirm_timeout
    )
    if target is None:
        raise InputError(
            "gateway.model_source is values: the models go out with the chart values "
            "(llmgw deploy), so there is nothing to sync",
            hint="set gateway.model_source: api (see docs/sync.md) and run `llmgw deploy` once",
        )
    policy = base.Policy(settings.dry_run, settings.yes, settings.allow_removal)
    result = base.converge(target, found.desired, policy, ui)
    done = outcome(target, result, warnings)
    if settings.verify and done.applied:
        from llmgw import verification

        ui.phase("verify through the gateway")
        p = result.plan.preview
        names = [*p.added, *p.changed]
        gw = gateway_client.open_api(found.config, settings.gateway_url, env, connect)
        verification.require_answers(gw, found.desired, names, "the sync was applied")
    return done
