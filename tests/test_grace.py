"""grace.hold: which models keep their place, decided by the typed Absence alone."""

from __future__ import annotations

import pytest

from llmgw import config, discovery, grace, snapshot
from llmgw.discovery import Absence
from tests.k8s_objects import pod

CFG = "models:\n  vllm:\n    - name: a\n"


def found(tmp_path: object, *pods: dict[str, object]) -> discovery.DiscoveredModel:
    from pathlib import Path

    path = Path(str(tmp_path)) / "c.yaml"
    path.write_text(CFG)
    cfg = config.load(path)
    [m] = discovery.discover(cfg, snapshot.state_from_objects(list(pods), "t"))
    return m


@pytest.mark.parametrize(
    ("states", "absence"),
    [
        (("terminating", "notready"), Absence.NOT_READY),
        (("notready", "terminating"), Absence.NOT_READY),
        (("terminating", "pending"), Absence.NOT_READY),
        (("terminating", "noip"), Absence.GONE),
        (("crashloop",), Absence.NOT_READY),
        ((), Absence.NO_PODS),
        (("ready", "terminating"), Absence.NONE),
    ],
)
def test_a_model_s_absence_does_not_depend_on_pod_order(
    tmp_path: object, states: tuple[str, ...], absence: Absence
) -> None:
    pods = [pod(f"a-{i}", "vllm", {"app": "a"}, state=s) for i, s in enumerate(states)]
    assert found(tmp_path, *pods).absence is absence
    assert found(tmp_path, *reversed(pods)).absence is absence


@pytest.mark.parametrize("condition", ["Unknown", "False", None])
def test_a_pod_whose_ready_condition_is_not_true_is_not_ready(
    tmp_path: object, condition: str | None
) -> None:
    """A node lost: the kubelet stops reporting and the condition turns Unknown."""
    p = pod("a-0", "vllm", {"app": "a"})
    conditions = [c for c in p["status"]["conditions"] if c["type"] != "Ready"]
    if condition is not None:
        conditions.append({"type": "Ready", "status": condition})
    p["status"]["conditions"] = conditions
    m = found(tmp_path, p)
    assert not m.ready and m.absence is Absence.NOT_READY, m


def test_only_a_served_not_ready_model_is_kept_and_only_for_the_grace(tmp_path: object) -> None:
    flapping = found(tmp_path, pod("a-0", "vllm", {"app": "a"}, state="notready"))
    key = flapping.key
    first = grace.hold([flapping], {key}, {}, 10.0, now=100.0)
    assert first.models[0].ready and first.since == {key: 100.0}
    assert first.wake_in == pytest.approx(10.0)
    later = grace.hold([flapping], {key}, first.since, 10.0, now=109.0)
    assert later.models[0].ready and later.wake_in == pytest.approx(1.0)
    over = grace.hold([flapping], {key}, later.since, 10.0, now=110.5)
    assert not over.models[0].ready and over.kept == []
    never_served = grace.hold([flapping], set(), {}, 10.0, now=100.0)
    assert not never_served.models[0].ready
    gone = found(tmp_path, pod("a-0", "vllm", {"app": "a"}, state="terminating"))
    assert not grace.hold([gone], {key}, {}, 10.0, now=100.0).models[0].ready
