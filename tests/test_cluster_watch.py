"""`llmgw sync --watch` on the real control plane: model Deployments rolled by the real
deployment controller, pods run by the kubelet stand-in, the real watch (and etcd's real 410
after a compaction), and the real Lease. The gateway is the management-API stand-in
(tests/litellm_api_standin.py): what reaches the gateway is proven on the real LiteLLM in
test_e2e_watch_db.py; here the Kubernetes side is what is under test. Faults a real API server
cannot show on demand (flapping or silent watches, outages) stay in test_watch.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from llmgw import row_plan
from llmgw.controller import Controller, Options
from llmgw.kube import auth
from tests.cluster_objects import create, model_deployment, model_service, ready_pods
from tests.conftest import REPO, Kube
from tests.kubelet_standin import wait_for
from tests.litellm_api_standin import KEY, Api
from tests.litellm_api_standin import serve as serve_api

pytestmark = pytest.mark.cluster

CONFIG = """gateway: {{release: gw, namespace: {ns}, model_source: api, url: {url}}}
bedrock: {{region: us-west-2, llm: [{{name: claude, model: m.claude}}]}}
models:
  vllm: [{{name: a, namespace: {ns}}}, {{name: b, namespace: {ns}}}]
secrets:
  salt_key: {{env: LITELLM_SALT_KEY}}
"""


def names(api: Api) -> set[str]:
    return {r["model_name"] for r in api.store.values() if r["model_info"].get(row_plan.MANAGED)}


@dataclass
class World:
    kube: Kube
    ns: str
    api: Api
    config: Path
    kc: Path
    admin: Any

    def options(self, **changes: Any) -> Options:
        base = Options(
            config_path=self.config,
            kubeconfig=self.kc,
            debounce=0.2,
            grace=3.0,
            resync=60.0,
            watch_timeout=30,
            lease_duration=2.0,
            backoff_max=0.5,
            identity="first",
        )
        return replace(base, **changes)

    @contextmanager
    def controller(self, **changes: Any) -> Iterator[Controller]:
        c = Controller(
            self.options(**changes),
            lambda: auth.connect(auth.Connection(self.kc, None)),
            env={"LITELLM_MASTER_KEY": KEY},
        )
        thread = threading.Thread(target=c.run, daemon=True)
        thread.start()
        try:
            yield c
        finally:
            c.stop()
            thread.join(15)
            assert not thread.is_alive()

    def steady(self, expected: set[str] | None = None) -> None:
        want = expected or {"bedrock/claude", "vllm/a"}
        wait_for(lambda: names(self.api) == want, what=f"gateway serves {want}")


@pytest.fixture
def world(kube: Kube, tmp_path: Path) -> Iterator[World]:
    ns = kube.plane.namespace("watch")
    admin = kube.admin()
    create(
        admin, model_deployment("a", ns), model_service("a", ns, 8000), model_service("b", ns, 8000)
    )
    wait_for(lambda: ready_pods(admin, ns, "app=a") == 1)
    api = Api(lag=0.1)
    with serve_api(api) as url:
        config = tmp_path / "config.yaml"
        config.write_text(CONFIG.format(ns=ns, url=url))
        yield World(kube, ns, api, config, kube.plane.kubeconfig(tmp_path / "kc"), admin)


def apps(world: World) -> Any:
    from kubernetes import client

    return client.AppsV1Api(world.admin)


def test_a_deployment_turning_ready_reaches_the_gateway_within_debounce_plus_a_second(
    world: World,
) -> None:
    with world.kube.kubelet.hold(world.ns, {"app": "b"}, "notready") as held:
        create(world.admin, model_deployment("b", world.ns))
        with world.controller():
            world.steady()
            wait_for(
                lambda: ready_pods(world.admin, world.ns, "app=b") == 0 and world.api.log != []
            )
            start = time.monotonic()
            world.kube.kubelet.release(held)
            wait_for(lambda: ready_pods(world.admin, world.ns, "app=b") == 1)
            wait_for(lambda: "vllm/b" in names(world.api))
            # the kubelet's status write, then debounce + 1 s (+ a loaded machine's margin)
            assert time.monotonic() - start <= 0.2 + 1.0 + 1.5


def test_a_deleted_deployment_leaves_the_gateway(world: World) -> None:
    create(world.admin, model_deployment("b", world.ns))
    with world.controller():
        world.steady({"bedrock/claude", "vllm/a", "vllm/b"})
        apps(world).delete_namespaced_deployment("b", world.ns, propagation_policy="Foreground")
        wait_for(lambda: "vllm/b" not in names(world.api), what="vllm/b removed")
        assert "vllm/a" in names(world.api)


def test_a_rolling_update_never_leaves_the_name_missing(world: World) -> None:
    """A new pod template rolls a new ReplicaSet in (maxSurge 1, maxUnavailable 0); the old
    pod lingers Terminating for a second, as a real one would. Sampled all along, the name
    is always served."""
    world.kube.kubelet.linger = 1.0
    try:
        with world.controller():
            world.steady()
            missing: list[float] = []
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    if "vllm/a" not in names(world.api):
                        missing.append(time.monotonic())
                    time.sleep(0.01)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            patch = {"spec": {"template": {"metadata": {"annotations": {"rollout": "2"}}}}}
            apps(world).patch_namespaced_deployment("a", world.ns, patch)

            def rolled() -> bool:
                d = apps(world).read_namespaced_deployment_status("a", world.ns)
                s = d.status
                return bool(
                    s.observed_generation == d.metadata.generation
                    and s.updated_replicas == 1 and s.replicas == 1 and s.ready_replicas == 1
                )  # fmt: skip

            wait_for(rolled, what="the rollout finished")
            time.sleep(1.5)  # the old pod finalised, and the controller's next reconcile
            done.set()
            sampler.join()
            assert missing == []
            assert "vllm/a" in names(world.api)
    finally:
        world.kube.kubelet.linger = 0.0


def test_a_410_after_a_real_etcd_compaction_lists_again_and_keeps_up(world: World) -> None:
    with world.controller(watch_timeout=1) as c:
        world.steady()
        from kubernetes import client

        def pod_lists() -> int:
            return sum(
                1 for e in world.kube.plane.audit()
                if e.get("objectRef", {}).get("namespace") == world.ns
                and e.get("objectRef", {}).get("resource") == "pods" and e["verb"] == "list"
            )  # fmt: skip

        # Move etcd on past the controller's version, then compact it all away.
        listed = pod_lists()
        core = client.CoreV1Api(world.admin)
        for i in range(3):
            core.create_namespaced_config_map(world.ns, {"metadata": {"name": f"bump-{i}"}})
        world.kube.plane.compact()

        def expired() -> float:
            value = c.metrics.registry.get_sample_value(
                "llmgw_watch_restarts_total", {"cause": "expired"}
            )
            return float(value or 0)

        # The 410 is answered with a new LIST (seen by the API server), not with watches
        # retried from the compacted version until the resync (60 s here).
        wait_for(lambda: pod_lists() > listed, timeout=15, what="a LIST after the 410")
        wait_for(lambda: expired() >= 1, what="a 410 Gone from the real API server")
        gone = [
            e for e in world.kube.plane.audit()
            if e.get("objectRef", {}).get("namespace") == world.ns
            and e.get("objectRef", {}).get("resource") == "pods"
            and e["verb"] == "watch" and e.get("responseStatus", {}).get("code") in (200, 410)
        ]  # fmt: skip
        assert gone, "the controller's pod watches reached the API server"
        create(world.admin, model_deployment("b", world.ns))
        wait_for(lambda: "vllm/b" in names(world.api), what="a change after the 410")


# -- two controllers on the real Lease ---------------------------------------------------------


def lease(world: World) -> Any:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        return client.CoordinationV1Api(world.admin).read_namespaced_lease("llmgw-sync", world.ns)
    except ApiException:
        return None


def lease_holder(world: World) -> str:
    found = lease(world)
    return "" if found is None else str(found.spec.holder_identity or "")


def start_cli_controller(world: World, log: Path) -> subprocess.Popen[bytes]:
    """`llmgw sync --watch` as a user runs it: its own process, the CLI's signal handling."""
    env = {**os.environ, "LITELLM_MASTER_KEY": KEY, "PYTHONUNBUFFERED": "1"}
    argv = [
        sys.executable, "-m", "llmgw", "-c", str(world.config), "sync", "--watch",
        "--kubeconfig", str(world.kc), "--debounce", "0.2", "--grace", "3",
    ]  # fmt: skip
    return subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def identity_of(proc: subprocess.Popen[bytes]) -> str:
    import socket

    return f"{socket.gethostname()}-{proc.pid}"


def test_two_controllers_hand_over_on_kill_9_and_on_sigterm(world: World, tmp_path: Path) -> None:
    """One writes, one waits. The leader killed with -9 stops renewing: the other takes the
    Lease once it expires (15 s) and writes. Then SIGTERM: the leader releases the Lease on
    its way out, and the other takes over well before the Lease would have expired."""
    first = start_cli_controller(world, tmp_path / "first.log")
    procs = [first]
    try:
        wait_for(lambda: lease_holder(world) == identity_of(first), 30, "first leads")
        world.steady()
        second = start_cli_controller(world, tmp_path / "second.log")
        procs.append(second)
        renewed = lease(world).spec.renew_time
        time.sleep(6)  # more than one retry period (5 s): the leader renews, the other waits
        now = lease(world)
        assert now.spec.holder_identity == identity_of(first)
        assert now.spec.renew_time > renewed, "the leader renews its Lease"

        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed = time.monotonic()
        wait_for(lambda: lease_holder(world) == identity_of(second), 40, "second takes over")
        assert time.monotonic() - killed >= 5  # not before the dead leader's Lease expired
        create(world.admin, model_deployment("b", world.ns))
        wait_for(lambda: "vllm/b" in names(world.api), 30, "the new leader writes")

        third = start_cli_controller(world, tmp_path / "third.log")
        procs.append(third)
        time.sleep(2)
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
        released = time.monotonic()
        assert lease_holder(world) in ("", identity_of(third))
        wait_for(lambda: lease_holder(world) == identity_of(third), 15, "third takes over")
        assert time.monotonic() - released < 12  # released, not expired (15 s)
        apps(world).delete_namespaced_deployment("b", world.ns)
        wait_for(lambda: "vllm/b" not in names(world.api), 30, "the third writes")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
