"""`llmgw sync --watch`: scripted timelines against the Kubernetes API stand-in (WATCH, 410,
stale watches, outages, Leases) and the management-API stand-in, asserting what the gateway
received and when. Timings are scaled down (debounce 0.2 s, grace 3 s); every wait is a
bounded poll, so a loaded machine only makes a test slower, not wrong.

Uses the stand-in API server for what a real one cannot be made to do on demand: flapping,
silent and lossy watches, outages, slow lists, and precise event orders. The controller on
the real API server (real watch, etcd's 410, the real Lease) is test_cluster_watch.py."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from llmgw import row_plan
from llmgw.controller import Controller, Options
from llmgw.health import serve_health
from llmgw.kube import auth
from tests.k8s_objects import pod, service
from tests.kube_standin import Cluster, kubeconfig
from tests.kube_standin import serve as serve_kube
from tests.litellm_api_standin import KEY, Api
from tests.litellm_api_standin import serve as serve_api

CONFIG = """gateway: {{release: gw, namespace: ai, model_source: api, url: {url}}}
bedrock: {{region: us-west-2, llm: [{{name: claude, model: m.claude}}]}}
models:
  vllm: [{{name: a}}, {{name: b}}]
secrets:
  salt_key: {{env: LITELLM_SALT_KEY}}
"""


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - start


def names(api: Api) -> set[str]:
    return {r["model_name"] for r in api.store.values() if r["model_info"].get(row_plan.MANAGED)}


class World:
    def __init__(self, cluster: Cluster, api: Api, config: Path, kc: Path) -> None:
        self.cluster, self.api, self.config, self.kc = cluster, api, config, kc
        self.options = Options(
            config_path=config,
            kubeconfig=kc,
            debounce=0.2,
            grace=3.0,
            resync=60.0,
            watch_timeout=1,
            lease_duration=2.0,
            backoff_max=0.5,
            identity="first",
        )

    @contextmanager
    def controller(self, **changes: Any) -> Iterator[Controller]:
        options = replace(self.options, **changes)
        c = Controller(
            options,
            lambda: auth.connect(auth.Connection(self.kc, None)),
            env={"LITELLM_MASTER_KEY": KEY},
        )
        thread = threading.Thread(target=c.run, daemon=True)
        thread.start()
        try:
            yield c
        finally:
            c.stop()
            thread.join(10)
            assert not thread.is_alive()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    cluster = Cluster()
    cluster.namespaces.update({"vllm", "ai"})
    cluster.put(pod("a-0", "vllm", {"app": "a"}))
    cluster.put(service("a", "vllm", {"app": "a"}, 8000))
    cluster.put(service("b", "vllm", {"app": "b"}, 8000))
    api = Api(lag=0.1)
    with serve_kube(cluster) as kube_url, serve_api(api) as api_url:
        config = tmp_path / "config.yaml"
        config.write_text(CONFIG.format(url=api_url))
        yield World(cluster, api, config, kubeconfig(tmp_path / "kc", kube_url))


def steady(world: World) -> None:
    wait_until(lambda: names(world.api) == {"bedrock/claude", "vllm/a"})


def test_a_pod_becoming_ready_is_added_within_debounce_plus_a_second(world: World) -> None:
    world.cluster.put(pod("b-0", "vllm", {"app": "b"}, state="notready"))
    with world.controller(watch_timeout=30):  # streamed as it happens, not at a reconnect
        steady(world)
        start = time.monotonic()
        world.cluster.put(pod("b-0", "vllm", {"app": "b"}))
        wait_until(lambda: "vllm/b" in names(world.api))
        assert time.monotonic() - start <= 0.2 + 1.0 + 0.5  # debounce + 1 s (+ a loaded CI)


def test_a_short_notready_flap_removes_nothing(world: World) -> None:
    with world.controller():
        steady(world)
        world.cluster.put(pod("a-0", "vllm", {"app": "a"}, state="notready"))
        time.sleep(1.5)  # shorter than the grace
        world.cluster.put(pod("a-0", "vllm", {"app": "a"}))
        time.sleep(1.5)
        assert not [w for w in world.api.writes() if "delete" in w]
        assert "vllm/a" in names(world.api)


def test_notready_past_the_grace_is_removed(world: World) -> None:
    with world.controller():
        steady(world)
        start = time.monotonic()
        world.cluster.put(pod("a-0", "vllm", {"app": "a"}, state="crashloop"))
        wait_until(lambda: "vllm/a" not in names(world.api))
        assert time.monotonic() - start >= 3.0  # not before the grace


def test_a_deleted_pod_is_removed_at_once(world: World) -> None:
    with world.controller():
        steady(world)
        start = time.monotonic()
        world.cluster.delete("Pod", "vllm", "a-0")
        wait_until(lambda: "vllm/a" not in names(world.api))
        assert time.monotonic() - start < 3.0  # no grace for pods that are gone


def test_a_pod_that_lost_its_ip_is_removed_at_once(world: World) -> None:
    with world.controller():
        steady(world)
        start = time.monotonic()
        world.cluster.put(pod("a-0", "vllm", {"app": "a"}, state="noip"))
        wait_until(lambda: "vllm/a" not in names(world.api))
        assert time.monotonic() - start < 3.0


def test_410_gone_mid_watch_relists_and_misses_nothing(world: World) -> None:
    with world.controller() as c:
        steady(world)
        restarts = c.metrics.watch_restarts.labels("expired")._value.get()
        world.cluster.compact()  # the watch's next version is too old: 410 Gone
        world.cluster.put(pod("b-0", "vllm", {"app": "b"}))
        wait_until(lambda: "vllm/b" in names(world.api))
        wait_until(lambda: c.metrics.watch_restarts.labels("expired")._value.get() > restarts)


def test_a_delete_lost_while_disconnected_is_healed_by_the_relist(world: World) -> None:
    with world.controller():
        steady(world)
        world.cluster.lose_events = True
        world.cluster.delete("Pod", "vllm", "a-0")  # no event reaches any watch
        world.cluster.lose_events = False
        time.sleep(0.5)
        assert "vllm/a" in names(world.api)  # the watch never heard of it
        world.cluster.compact()  # the reconnect gets 410 and lists again
        wait_until(lambda: "vllm/a" not in names(world.api))


def test_a_silently_stale_watch_is_healed_by_the_resync(world: World) -> None:
    with world.controller(resync=2.0, watch_timeout=30):
        steady(world)
        world.cluster.stale = True  # watches go quiet without closing
        world.cluster.delete("Pod", "vllm", "a-0")
        waited = wait_until(lambda: "vllm/a" not in names(world.api))
        assert waited <= 2.0 + 3.0


def test_an_api_server_outage_writes_nothing_then_converges(world: World) -> None:
    with world.controller():
        steady(world)
        before = len(world.api.writes())
        world.cluster.down = True
        world.cluster.delete("Pod", "vllm", "a-0")
        time.sleep(1.5)
        assert len(world.api.writes()) == before  # never from partial data
        world.cluster.down = False
        wait_until(lambda: "vllm/a" not in names(world.api))


def test_two_controllers_one_writer(world: World) -> None:
    with world.controller() as first, world.controller(identity="second") as second:
        wait_until(lambda: first.leader or second.leader)
        steady(world)
        world.cluster.put(pod("b-0", "vllm", {"app": "b"}))
        wait_until(lambda: "vllm/b" in names(world.api))
        time.sleep(0.5)
        assert first.leader != second.leader
        creates = [w for w in world.api.writes() if w == "POST /model/new"]
        assert len(creates) == 3  # claude, a, b: each once
    lease = world.cluster.leases["ai/llmgw-sync"]
    assert lease["spec"]["holderIdentity"] == ""  # released on the way out


def test_config_edits_are_picked_up_and_an_invalid_one_is_ignored(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with world.controller():
        steady(world)
        good = world.config.read_text()
        edited = world.config.with_suffix(".new")
        edited.write_text(
            good.replace(
                "llm: [{name: claude, model: m.claude}]",
                "llm: [{name: claude, model: m.claude}, {name: nova, model: m.nova}]",
            )
        )
        edited.replace(world.config)  # an atomic swap, as a ConfigMap mount does
        wait_until(lambda: "bedrock/nova" in names(world.api))
        with caplog.at_level(logging.ERROR, logger="llmgw"):
            world.config.write_text("gateway: [not, a, mapping\n")
            wait_until(lambda: "config change ignored" in caplog.text)
        world.cluster.put(pod("b-0", "vllm", {"app": "b"}))  # the last good config still runs
        wait_until(lambda: "vllm/b" in names(world.api))


def test_health_ready_and_metrics(world: World) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with world.controller() as c:
        server = serve_health(c, f"127.0.0.1:{port}")
        try:
            url = f"http://127.0.0.1:{port}"
            assert urllib.request.urlopen(url + "/healthz", timeout=5).status == 200
            steady(world)
            wait_until(lambda: c.ready())
            assert urllib.request.urlopen(url + "/readyz", timeout=5).status == 200
            metrics = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
            for name in (
                "llmgw_reconciles_total",
                'llmgw_writes_total{kind="create"}',
                "llmgw_models_served 2.0",
                "llmgw_models_desired 3.0",
                "llmgw_leader 1.0",
                "llmgw_seconds_since_last_reconcile",
            ):
                assert name in metrics, name
            world.cluster.down = True
            wait_until(lambda: not c.ready())
            try:
                urllib.request.urlopen(url + "/readyz", timeout=5)
                raise AssertionError("ready while the API server is down")
            except urllib.error.HTTPError as exc:
                assert exc.code == 503
        finally:
            server.shutdown()


def test_values_mode_upgrades_through_helm_no_more_often_than_the_minimum(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_helm: str
) -> None:
    from tests.conftest import REPO
    from tests.fake_helm import FakeHelm, on_path

    fake = FakeHelm(tmp_path / "helm", real=real_helm)
    monkeypatch.setenv("PATH", on_path(fake.install()))
    chart = REPO / "tests/charts/litellm-helm-1x"
    world.config.write_text(
        f"gateway: {{release: gw, namespace: ai, chart: {chart}}}\n"
        "bedrock: {region: us-west-2, llm: [{name: claude, model: m.claude}]}\n"
        "models:\n  vllm: [{name: a}, {name: b}]\n"
        "secrets: {master_key: {secret: litellm-master, key: key}}\n"
    )

    def served() -> list[str]:
        values = fake.state().get("values") or {}
        return [m["model_name"] for m in values.get("proxy_config", {}).get("model_list", [])]

    with world.controller(min_upgrade_interval=2.5) as c:
        wait_until(lambda: served() == ["bedrock/claude", "vllm/a"])
        first = c.last_upgrade  # when the first upgrade finished, by the controller's clock
        world.cluster.put(pod("b-0", "vllm", {"app": "b"}))
        time.sleep(1.0)
        if c.clock() - first < 2.5:  # within the interval: no second upgrade yet
            assert len(fake.calls_of("upgrade")) == 1  # a flapping pod cannot loop it
        wait_until(lambda: "vllm/b" in served())
        assert c.last_upgrade - first >= 2.5
        assert len(fake.calls_of("upgrade")) == 2


def test_the_cli_stops_gracefully_on_sigterm_and_releases_the_lease(
    world: World, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    log = tmp_path / "watch.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "llmgw"),
                "-c",
                str(world.config),
                "sync",
                "--watch",
                "--kubeconfig",
                str(world.kc),
                "--debounce",
                "0.2",
                "--log-format",
                "json",
            ],
            env={**os.environ, "LITELLM_MASTER_KEY": KEY},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: names(world.api) == {"bedrock/claude", "vllm/a"}, timeout=30)
        wait_until(
            lambda: (
                world.cluster.leases.get("ai/llmgw-sync", {}).get("spec", {}).get("holderIdentity")
            )
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert world.cluster.leases["ai/llmgw-sync"]["spec"]["holderIdentity"] == ""
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    messages = [line["message"] for line in lines]
    assert "add vllm/a" in messages, messages  # the write, from the preview
    assert "serving 1 self-hosted models: vllm/a" in messages, messages
    assert any(m.startswith("released the Lease") for m in messages)
    assert KEY not in log.read_text()


# -- a misbehaving API server -------------------------------------------------------------------


def watch_requests(cluster: Cluster) -> int:
    return sum(1 for r in cluster.requests if "watch=" in r)


@pytest.mark.parametrize("mode", ["end", "drop"])
def test_watches_that_end_at_once_back_off_and_a_later_change_arrives(
    world: World, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A watch that ends right after its headers (a clean end or a dropped connection) is a
    failure; the back-off grows (scaled here: 0.2 s doubling to 2 s, as 0.8 to 30 s)."""
    world.cluster.put(pod("b-0", "vllm", {"app": "b"}, state="notready"))
    with world.controller(watch_timeout=30, backoff_start=0.2, backoff_max=2.0) as c:
        steady(world)
        world.cluster.flap = mode  # the open watches end too
        with caplog.at_level(logging.WARNING, logger="llmgw"):
            c_before = watch_requests(world.cluster)
            time.sleep(4.0)
            flapped = watch_requests(world.cluster) - c_before
        # Growing back-off: per watch 0.2, 0.4, 0.8, 1.6 s (x1-1.5): at most ~5 each in 4 s;
        # re-opened at once, or at a fixed 0.2-0.3 s, it would be 15 or more each.
        assert 2 <= flapped <= 12, flapped
        cause = "ended" if mode == "end" else "error"
        assert c.metrics.watch_restarts.labels(cause)._value.get() >= 2
        said = [r.getMessage() for r in caplog.records if "watching again in" in r.getMessage()]
        assert len(said) == flapped or len(said) >= 2  # one line a back-off, with its cause
        assert ("ended at once with no events" if mode == "end" else "failed") in said[0]
        world.cluster.flap = None
        world.cluster.put(pod("b-0", "vllm", {"app": "b"}))
        wait_until(lambda: "vllm/b" in names(world.api), timeout=20)


def test_a_model_added_in_a_watched_namespace_is_listed_at_once(world: World) -> None:
    """A reload that changes a namespace's selector lists that namespace again now, not at the
    next resync (300 s here, the default)."""
    world.cluster.put(pod("c-0", "vllm", {"app": "c"}))
    world.cluster.put(service("c", "vllm", {"app": "c"}, 8000))
    with world.controller(resync=300.0, watch_timeout=30) as c:
        steady(world)
        text = world.config.read_text().replace("{name: b}]", "{name: b}, {name: c}]")
        start = time.monotonic()
        world.config.write_text(text)
        wait_until(lambda: "vllm/c" in names(world.api))
        assert time.monotonic() - start <= 0.2 + 1.0 + 0.5  # debounce + 1 s (+ a loaded CI)
        assert c.metrics.watch_restarts.labels("config")._value.get() == 1


def test_a_relist_closes_the_watches_it_supersedes(world: World) -> None:
    with world.controller(resync=0.2, watch_timeout=30) as c:
        steady(world)
        wait_until(lambda: c.metrics.watch_restarts.labels("resync")._value.get() >= 10)
        c.options = replace(c.options, resync=3600.0)  # no relist after these ten
        # One namespace (vllm) is watched: pods and services. The server sees a closed
        # watch at its next write (a bookmark every 0.5 s); one left open would stay 30 s.
        wait_until(lambda: world.cluster.open_watches <= 2, timeout=5)
        time.sleep(1.0)
        assert world.cluster.open_watches == 2


def test_a_terminating_pod_s_model_is_removed_at_once(world: World) -> None:
    with world.controller():
        steady(world)
        start = time.monotonic()
        world.cluster.put(pod("a-0", "vllm", {"app": "a"}, state="terminating"))
        wait_until(lambda: "vllm/a" not in names(world.api))
        assert time.monotonic() - start < 3.0  # the grace is 3 s: not waited out


@pytest.mark.parametrize("order", ["old pod first", "new pod first"])
def test_a_rollout_replacing_the_only_pod_keeps_the_model_for_the_grace(
    world: World, order: str
) -> None:
    """A Recreate rollout: the old pod terminating, the new one not Ready yet. Whichever the
    list gives first, the model keeps its place for the grace (3 s), then goes."""
    with world.controller():
        steady(world)
        start = time.monotonic()
        with world.cluster.lock:
            world.cluster.put(pod("a-0", "vllm", {"app": "a"}, state="terminating"))
            world.cluster.put(pod("a-1", "vllm", {"app": "a"}, state="notready"))
            if order == "new pod first":  # as a fresh list gives it: a 410, then the list
                world.cluster.pods["vllm"].reverse()
                world.cluster.compact()
        time.sleep(1.5)
        assert "vllm/a" in names(world.api)  # not dropped at once
        wait_until(lambda: "vllm/a" not in names(world.api))
        assert time.monotonic() - start >= 3.0


def test_probe_asks_when_the_pods_change_not_on_every_reconcile(world: World) -> None:
    models = {"object": "list", "data": [{"id": "a"}]}
    world.cluster.proxy["vllm/a:8000/v1/models"] = (200, models)
    world.cluster.proxy["vllm/b:8000/v1/models"] = (503, {"message": "not yet"})

    def asked(service: str) -> int:
        return sum(1 for r in world.cluster.requests if f"/services/{service}:8000/proxy" in r)

    world.cluster.put(pod("b-0", "vllm", {"app": "b"}))
    with world.controller(probe=True, backoff_start=0.2, backoff_max=0.4) as c:
        steady_b = {"bedrock/claude", "vllm/a", "vllm/b"}
        wait_until(lambda: names(world.api) == steady_b)
        first = asked("a")
        for i in range(3):  # reconciles that change nothing of a's pods
            world.cluster.put(service(f"x{i}", "vllm", {"app": f"x{i}"}, 8000))
            time.sleep(0.5)
        assert c.metrics.reconciles._value.get() >= 3
        assert asked("a") == first
        wait_until(lambda: asked("b") >= 3)  # a failed probe is asked again, with back-off
        world.cluster.put(pod("a-1", "vllm", {"app": "a"}))  # a new pod: asked again
        wait_until(lambda: asked("a") == first + 1)


def test_events_of_a_watch_from_before_the_last_list_are_ignored() -> None:
    """A superseded watch may still deliver what it read before it was closed: stale."""
    from llmgw.kube.informer import Informer, Namespace

    informer = Informer(None)
    informer.view["vllm"] = Namespace(healthy=True, generation=2)
    old = pod("a-0", "vllm", {"app": "a"})
    assert not informer.handle(("event", "vllm", "pods", 1, "ADDED", old))  # generation 1
    assert informer.view["vllm"].pods == {}
    assert informer.handle(("event", "vllm", "pods", 2, "ADDED", old))  # the current watch
    assert list(informer.view["vllm"].pods)


@pytest.mark.parametrize("listen", ["bogus", ":99999", ":0", "::1:8080", "[::1]", "host :80"])
def test_a_bad_listen_address_is_exit_2_naming_the_flag(cli: Any, listen: str) -> None:
    result = cli("-c", "config.example.yaml", "sync", "--watch", "--listen", listen)
    assert result.code == 2, result.err
    assert f"error: --listen {listen!r} is not [HOST]:PORT" in result.err
    assert "hint: e.g. --listen :8080" in result.err


def test_health_on_an_ipv6_address(world: World) -> None:
    import socket

    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        port = s.getsockname()[1]
    with world.controller() as c:
        server = serve_health(c, f"[::1]:{port}")
        try:
            with urllib.request.urlopen(f"http://[::1]:{port}/healthz", timeout=5) as answer:
                assert answer.status == 200
        finally:
            server.shutdown()


def test_the_logs_say_what_runs_where_and_why_a_model_is_left_out(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.cluster.put(pod("b-0", "vllm", {"app": "b"}, state="crashloop"))
    with caplog.at_level(logging.INFO, logger="llmgw"), world.controller() as c:
        steady(world)
        wait_until(lambda: c.left_out.get("vllm/b") is not None)
        time.sleep(0.5)  # more reconciles: said once
    said = [r.getMessage() for r in caplog.records]
    start = next(m for m in said if m.startswith("llmgw "))
    assert "sync --watch: config " in start and str(world.config) in start
    assert "(context test)" in start and "model_source api" in start
    assert not [m for m in said if m.startswith("added vllm/a")]  # it was there at start
    assert any(m.startswith("serving 1 self-hosted models: vllm/a") for m in said)
    left = [m for m in said if m.startswith("left out vllm/b")]
    assert len(left) == 1 and "CrashLoopBackOff" in left[0]
    value = c.metrics.registry.get_sample_value(
        "llmgw_model_left_out", {"public_name": "vllm/b", "reason": "CrashLoopBackOff"}
    )
    assert value == 1.0


# -- models found by label --------------------------------------------------------------------

RULE = "discover:\n  - namespaces: [models]\n    selector: llmgw.io/serve=true\n"


def test_a_labelled_deployment_is_served_when_ready_and_gone_when_deleted(world: World) -> None:
    """No config change: the rule's pod (as a Deployment's template labels it) reaches the
    gateway within debounce + 1 s of Ready and leaves when deleted; the namespace costs what
    any namespace does: one LIST and one WATCH each of pods and services."""
    world.cluster.namespaces.add("models")
    world.config.write_text(world.config.read_text() + RULE)
    labels = {"app.kubernetes.io/name": "llama", "llmgw.io/serve": "true"}
    world.cluster.put(service("llama", "models", {"app.kubernetes.io/name": "llama"}, 8000))
    world.cluster.put(pod("unrelated-0", "models", {"app": "other"}))
    with world.controller(watch_timeout=30):
        steady(world)
        world.cluster.put(pod("llama-7d9f-x2", "models", labels, state="notready"))
        time.sleep(0.5)
        assert "vllm/llama" not in names(world.api)
        start = time.monotonic()
        world.cluster.put(pod("llama-7d9f-x2", "models", labels))
        wait_until(lambda: "vllm/llama" in names(world.api))
        assert time.monotonic() - start <= 0.2 + 1.0 + 0.5  # debounce + 1 s (+ a loaded CI)
        row = next(r for r in world.api.store.values() if r["model_name"] == "vllm/llama")
        assert row["litellm_params"]["api_base"] == "http://llama.models:8000/v1"
        start = time.monotonic()
        world.cluster.delete("Pod", "models", "llama-7d9f-x2")
        wait_until(lambda: "vllm/llama" not in names(world.api))
        assert time.monotonic() - start <= 2.0
    asked = [r for r in world.cluster.requests if "/namespaces/models/" in r]
    lists = [r for r in asked if "watch=" not in r]
    watches = [r for r in asked if "watch=" in r]
    assert len(lists) == 2 and len(watches) == 2, asked
    assert all("labelSelector=llmgw.io%2Fserve%3Dtrue" in r for r in asked if "/pods" in r)


def test_a_labelled_pod_left_out_is_logged_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.cluster.namespaces.add("models")
    world.config.write_text(world.config.read_text() + RULE)
    odd = pod("odd-0", "models", {"app": "odd", "llmgw.io/serve": "true"}, image="busybox:1")

    def said() -> list[str]:
        return [r.getMessage() for r in caplog.records if "models/odd-0" in r.getMessage()]

    with caplog.at_level(logging.WARNING, logger="llmgw"), world.controller() as c:
        world.cluster.put(odd)
        steady(world)
        wait_until(lambda: bool(said()))
        before = c.metrics.reconciles._value.get()
        world.cluster.put(pod("a-1", "vllm", {"app": "a"}, ip="10.0.1.11"))  # another reconcile
        wait_until(lambda: c.metrics.reconciles._value.get() > before)
    logged = said()
    assert len(logged) == 1 and "engine unknown" in logged[0], logged
    assert "vllm/odd" not in names(world.api)


def test_a_labelled_model_whose_pods_go_notready_keeps_its_place_for_the_grace(
    world: World,
) -> None:
    world.cluster.namespaces.add("models")
    world.config.write_text(world.config.read_text() + RULE)
    labels = {"app.kubernetes.io/name": "llama", "llmgw.io/serve": "true"}
    world.cluster.put(pod("llama-0", "models", labels))
    with world.controller():
        wait_until(lambda: "vllm/llama" in names(world.api))
        start = time.monotonic()
        world.cluster.put(pod("llama-0", "models", labels, state="crashloop"))
        time.sleep(1.5)  # shorter than the grace (3 s)
        assert "vllm/llama" in names(world.api)
        wait_until(lambda: "vllm/llama" not in names(world.api))
        assert time.monotonic() - start >= 3.0


def test_a_gateway_refusing_an_endpoint_for_30_s_is_backed_off_not_fatal(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The gateway answers 400 where llmgw reads its models for 30 s: the controller logs it,
    keeps trying with capped back-off, says not ready, and is in step within one back-off
    (plus the debounce) of the gateway answering again."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"

    def readyz() -> int:
        try:
            return int(urllib.request.urlopen(url + "/readyz", timeout=5).status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    with caplog.at_level(logging.INFO, logger="llmgw"), world.controller() as c:
        server = serve_health(c, f"127.0.0.1:{port}")
        try:
            steady(world)
            wait_until(c.ready)
            world.api.faults["refuse"] = {"GET /model/info": 400}
            world.cluster.put(pod("b-0", "vllm", {"app": "b"}))  # a change it cannot apply yet
            wait_until(lambda: readyz() == 503, timeout=5)
            end = time.monotonic() + 30
            while time.monotonic() < end:
                asked = world.api.log.count("GET /model/info")
                time.sleep(2)
                assert readyz() == 503
                assert world.api.log.count("GET /model/info") > asked  # alive, still trying
                assert urllib.request.urlopen(url + "/healthz", timeout=5).status == 200
            assert "vllm/b" not in names(world.api)
            world.api.faults.clear()
            took = wait_until(lambda: "vllm/b" in names(world.api))
            bound = 1.5 * world.options.backoff_max + world.options.debounce
            assert took <= bound + 1.0, (took, bound)  # one back-off, not one grown for 30 s
            wait_until(lambda: readyz() == 200, timeout=5)
        finally:
            server.shutdown()
    failed = [r.getMessage() for r in caplog.records if "apply failed" in r.getMessage()]
    assert failed and "/model/info" in failed[0] and "400" in failed[0], failed[:1]
    assert any("applied again after" in r.getMessage() for r in caplog.records)
