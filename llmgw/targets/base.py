"""What a target is, and the one way every driver applies the desired state through one.

A target is where the desired state goes: the chart values (helm) or the gateway's database
(the management API). Each answers the same questions — what would change (``plan``, which
reads what the gateway has now), how to ask about it (``question``), and ``apply`` — and
``converge`` runs them with the one preview, guard and confirmation of ``review``. ``deploy``,
``sync`` and the controller differ only in the policy they pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from llmgw.desired import DesiredState
from llmgw.review import Preview, Reporter, ask, guard


class Plan(Protocol):
    @property
    def preview(self) -> Preview: ...

    @property
    def changes(self) -> bool:
        """Anything to write at all (a gateway in step gets no write)."""

    @property
    def counts(self) -> dict[str, int]:
        """Writes by kind, for metrics (``create``, ``delete``, ``upgrade``, …)."""


P = TypeVar("P", bound=Plan)


class Target(Protocol[P]):
    #: The word for applying, in prompts and refusals: ``deploy``, ``sync``.
    verb: str
    #: Applying rolls the gateway's pods (a helm upgrade): the controller spaces these out.
    restarts: bool
    #: The refusal's first words when a plan would drop served names.
    refusal: str

    def plan(self, state: DesiredState, ui: Reporter) -> P: ...
    def question(self, plan: P) -> str: ...
    def apply(self, plan: P, ui: Reporter) -> Any: ...


@dataclass(frozen=True)
class Policy:
    dry_run: bool = False
    yes: bool = False
    allow_removal: bool = False


@dataclass(frozen=True)
class Result(Generic[P]):
    plan: P
    applied: bool
    #: What ``apply`` returned; None when nothing was applied.
    detail: Any = None


def converge(target: Target[P], state: DesiredState, policy: Policy, ui: Reporter) -> Result[P]:
    """Plan, preview, guard, ask, apply: nothing outside changes before the plan is accepted."""
    plan = target.plan(state, ui)
    ui.preview(plan.preview)
    if plan.preview.removed and not policy.allow_removal:
        guard(target.refusal, state.removal_reasons(plan.preview.removed))
    if not plan.changes or policy.dry_run:
        return Result(plan, applied=False)
    if not policy.yes:
        ask(ui, target.question(plan), target.verb)
    return Result(plan, applied=True, detail=target.apply(plan, ui))
