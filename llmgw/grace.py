"""Which models keep their place in the gateway while none of their pods is Ready.

A model the gateway serves whose pods are all not Ready but may come back (``NOT_READY``: a
pod starting, a readiness probe failing for a while) keeps its place for ``grace`` seconds, so
a short flap or a rollout that replaces the only pod drops no request; a model whose pods are
gone (terminating, no IP, none left) is removed at once. The decision reads the typed
``Absence`` discovery sets, never the reason's words, so it does not depend on the order the
pods are listed in. Pure: the caller keeps ``since`` between passes and logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from llmgw.discovery import Absence, DiscoveredModel

Key = tuple[str, ...]


@dataclass(frozen=True)
class Held:
    #: The models as the gateway should see them: those in grace count as ready.
    models: list[DiscoveredModel]
    #: When each model in grace first had no Ready pod (the caller passes it back next time).
    since: dict[Key, float]
    #: The models kept, with the seconds of grace they have left.
    kept: list[tuple[DiscoveredModel, float]] = field(default_factory=list)

    @property
    def wake_in(self) -> float | None:
        """Seconds until the first grace runs out: the next pass is due then."""
        return min((left for _m, left in self.kept), default=None)


def hold(
    models: Sequence[DiscoveredModel],
    served: set[Key],
    since: Mapping[Key, float],
    grace: float,
    now: float,
) -> Held:
    """``served``: the models the gateway routes to now; only those can be kept."""
    out: list[DiscoveredModel] = []
    started: dict[Key, float] = {}
    kept: list[tuple[DiscoveredModel, float]] = []
    for m in models:
        key = m.key
        if m.ready or not m.deploy or m.absence is not Absence.NOT_READY or key not in served:
            out.append(m)
            continue
        started[key] = since.get(key, now)
        left = grace - (now - started[key])
        if left > 0:
            kept.append((m, left))
            out.append(replace(m, ready=True, notes=(*m.notes, f"in grace: {m.reason}")))
        else:
            out.append(m)
    return Held(out, started, kept)
