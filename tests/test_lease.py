"""The Lease elector against the Kubernetes API stand-in (real HTTP), with an injected clock:
acquire, renew, conflict, expiry, release and takeover. The stand-in gives the clock and the
409s on demand; two real controllers on the real Lease (kill -9, SIGTERM) are in
test_cluster_watch.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmgw.kube import auth
from llmgw.kube.lease import Elector
from tests.kube_standin import Cluster, Fault, kubeconfig, serve


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Cluster, Clock, auth.Cluster]]:
    cluster = Cluster()
    with serve(cluster) as url:
        conn = auth.connect(auth.Connection(kubeconfig(tmp_path / "kc", url), None))
        yield cluster, Clock(), conn


def elector(world: tuple[Cluster, Clock, auth.Cluster], identity: str) -> Elector:
    _cluster, clock, conn = world
    return Elector(conn, "ai", "llmgw-sync", identity, duration=15.0, clock=clock)


def holder(cluster: Cluster) -> str:
    return str(cluster.leases["ai/llmgw-sync"]["spec"]["holderIdentity"])


def test_acquire_then_renew(world: tuple[Cluster, Clock, auth.Cluster]) -> None:
    cluster, clock, _conn = world
    a = elector(world, "a")
    assert a.try_acquire_or_renew()
    assert holder(cluster) == "a"
    acquired = cluster.leases["ai/llmgw-sync"]["spec"]["acquireTime"]
    clock.now += 5
    assert a.try_acquire_or_renew()  # renewed: the same acquireTime, a later renewTime
    spec = cluster.leases["ai/llmgw-sync"]["spec"]
    assert spec["acquireTime"] == acquired and spec["renewTime"] != acquired
    assert spec["leaseTransitions"] == 0


def test_a_live_foreign_holder_is_left_alone(world: tuple[Cluster, Clock, auth.Cluster]) -> None:
    cluster, clock, _conn = world
    assert elector(world, "a").try_acquire_or_renew()
    clock.now += 14  # within a's 15 s
    assert not elector(world, "b").try_acquire_or_renew()
    assert holder(cluster) == "a"


def test_an_expired_foreign_holder_is_taken_over(
    world: tuple[Cluster, Clock, auth.Cluster],
) -> None:
    cluster, clock, _conn = world
    a, b = elector(world, "a"), elector(world, "b")
    assert a.try_acquire_or_renew()
    clock.now += 16  # a stopped renewing: its Lease expired
    assert b.try_acquire_or_renew()
    assert holder(cluster) == "b"
    assert cluster.leases["ai/llmgw-sync"]["spec"]["leaseTransitions"] == 1
    assert not a.try_acquire_or_renew()  # a comes back: b holds it now


def test_a_conflict_is_losing_not_holding(world: tuple[Cluster, Clock, auth.Cluster]) -> None:
    """Every write carries the Lease's resourceVersion: a 409 means another wrote first."""
    cluster, clock, _conn = world
    a = elector(world, "a")
    assert a.try_acquire_or_renew()
    clock.now += 5
    cluster.faults.append(Fault(r"PUT /apis/coordination", status=409, times=1))
    assert not a.try_acquire_or_renew()
    assert not elector(world, "b").try_acquire_or_renew()  # a's Lease is still live
    create_conflict = Fault(r"POST /apis/coordination", status=409, times=1)
    cluster.leases.clear()
    cluster.faults.append(create_conflict)
    assert not elector(world, "c").try_acquire_or_renew()  # two created it at once


def test_release_lets_a_successor_take_over_at_once(
    world: tuple[Cluster, Clock, auth.Cluster],
) -> None:
    cluster, _clock, _conn = world
    a, b = elector(world, "a"), elector(world, "b")
    assert a.try_acquire_or_renew()
    b.release()  # not the holder: nothing happens
    assert holder(cluster) == "a"
    a.release()
    assert holder(cluster) == ""
    assert b.try_acquire_or_renew()  # no need to wait out the duration
    assert holder(cluster) == "b"


def test_an_api_error_counts_as_not_holding(world: tuple[Cluster, Clock, auth.Cluster]) -> None:
    cluster, _clock, _conn = world
    cluster.faults.append(Fault(r"/apis/coordination", status=500, times=1))
    assert not elector(world, "a").try_acquire_or_renew()


def test_an_outage_is_not_holding_said_once_and_a_release_in_it_is_said(
    world: tuple[Cluster, Clock, auth.Cluster], caplog: pytest.LogCaptureFixture
) -> None:
    cluster, _clock, _conn = world
    a = elector(world, "a")
    assert a.try_acquire_or_renew()
    cluster.down = True
    with caplog.at_level(logging.WARNING, logger="llmgw"):
        assert not a.try_acquire_or_renew()
        assert not a.try_acquire_or_renew()
        a.release()
    said = [r.getMessage() for r in caplog.records]
    assert len([m for m in said if "not holding it" in m]) == 1, said  # once, not a renewal
    assert any("could not release the Lease" in m for m in said), said
    cluster.down = False
    assert a.try_acquire_or_renew()
