"""`llmgw sync --watch` on LiteLLM's own management code: the controller watches the
Kubernetes API stand-in and writes to two real proxy replicas on one store (tests/litellm_db.py).

What only the real proxy can show is asserted here: rows and router settings reaching both
replicas through LiteLLM's reload, the alias that keeps a down name answering, and its removal
when the name's own pods are back. Faults of the API server and of the gateway stay with the
stand-ins (tests/test_watch.py); the Kubernetes side on the real API server is
tests/test_cluster_watch.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from llmgw.controller import Controller, Options
from llmgw.kube import auth
from tests import litellm_db
from tests.k8s_objects import pod, service
from tests.kube_standin import Cluster, kubeconfig
from tests.kube_standin import serve as serve_kube
from tests.litellm_proxy import MASTER_KEY, Proxy
from tests.openai_standin import Engines
from tests.openai_standin import serve as serve_engines

CONFIG = """gateway: {{release: gw, namespace: ai, model_source: api, url: {url}}}
bedrock: {{region: us-west-2, llm: [{{name: claude, model: m.claude}}]}}
models:
  vllm: [{{name: a}}, {{name: b}}]
router:
  fallbacks: {{vllm/b: [vllm/a]}}
secrets:
  salt_key: {{env: LITELLM_SALT_KEY}}
"""


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - start


def alias(proxy: Proxy) -> Any:
    status, body = proxy.call("GET", "/router/settings")
    assert status == 200, body
    return body["current_values"].get("model_group_alias")


def aliased(proxy: Proxy, want: dict[str, str]) -> bool:
    return bool(alias(proxy) == want)


def rows_named(proxy: Proxy, name: str) -> list[str]:
    status, body = proxy.call("GET", "/model/info")
    assert status == 200, body
    return [m["litellm_params"]["model"] for m in body["data"] if m["model_name"] == name]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Cluster, list[Proxy], Engines, Controller]]:
    cluster = Cluster()
    cluster.namespaces.update({"vllm", "ai"})
    cluster.put(pod("a-0", "vllm", {"app": "a"}))
    cluster.put(service("a", "vllm", {"app": "a"}, 8000))
    cluster.put(pod("b-0", "vllm", {"app": "b"}, state="notready"))
    cluster.put(service("b", "vllm", {"app": "b"}, 8000))
    engines = Engines()
    with (
        serve_kube(cluster) as kube_url,
        serve_engines(engines) as backend,
        litellm_db.replicas(tmp_path, 2, http_proxy=backend) as proxies,
    ):
        config = tmp_path / "config.yaml"
        config.write_text(CONFIG.format(url=proxies[0].url))
        options = Options(
            config_path=config,
            kubeconfig=kubeconfig(tmp_path / "kc", kube_url),
            debounce=0.2,
            grace=1.0,
            resync=60.0,
            watch_timeout=30,
            lease_duration=2.0,
            identity="only",
            verify_interval=0.3,
            verify_timeout=10.0,
        )
        controller = Controller(
            options,
            lambda: auth.connect(auth.Connection(options.kubeconfig, None)),
            env={"LITELLM_MASTER_KEY": MASTER_KEY},
        )
        thread = threading.Thread(target=controller.run, daemon=True)
        thread.start()
        try:
            yield cluster, proxies, engines, controller
        finally:
            controller.stop()
            thread.join(15)


def rows_are(proxy: Proxy, name: str, expected: list[str]) -> bool:
    return rows_named(proxy, name) == expected


def test_a_down_name_answers_through_its_fallback_until_its_pods_are_back(
    world: tuple[Cluster, list[Proxy], Engines, Controller],
) -> None:
    cluster, proxies, engines, _controller = world
    for proxy in proxies:  # b never served yet: its name answers from a at once
        wait_until(partial(aliased, proxy, {"vllm/b": "vllm/a"}))
        text = f"hi {time.monotonic()}"  # verifications run meanwhile: find this one
        status, body = proxy.chat("vllm/b", text)
        assert status == 200, body
        assert engines.host_of(text) == "a.vllm:8000"
    cluster.put(pod("b-0", "vllm", {"app": "b"}))
    # The replica that takes the write serves it at once: debounce + 1 s (+ a loaded CI).
    took = wait_until(lambda: "hosted_vllm/b" in rows_named(proxies[0], "vllm/b"))
    assert took <= 0.2 + 1.0 + 0.5
    for proxy in proxies:  # within one reconcile and one reload: its own rows, no alias
        wait_until(partial(aliased, proxy, {}))
        assert rows_named(proxy, "vllm/b") == ["hosted_vllm/b"]
        text = f"hi {time.monotonic()}"  # verifications run meanwhile: find this one
        status, body = proxy.chat("vllm/b", text)
        assert status == 200, body
        assert engines.host_of(text) == "b.vllm:8000"
    cluster.delete("Pod", "vllm", "b-0")  # gone: no grace, the alias is back
    for proxy in proxies:
        wait_until(partial(aliased, proxy, {"vllm/b": "vllm/a"}))
        # b's rows are gone; what /model/info lists under its name is the alias's copy of a.
        # The alias is written before the rows are deleted (make-before-break), so a replica
        # can reload between the two: wait for the deletion too.
        wait_until(partial(rows_are, proxy, "vllm/b", ["hosted_vllm/a"]))
        assert rows_named(proxy, "vllm/a") == ["hosted_vllm/a"]


def test_verify_interval_exports_which_names_answer_and_logs_a_failing_one_once(
    world: tuple[Cluster, list[Proxy], Engines, Controller], caplog: pytest.LogCaptureFixture
) -> None:
    _cluster, _proxies, engines, controller = world

    def up(name: str) -> float | None:
        value = controller.metrics.registry.get_sample_value(
            "llmgw_model_up", {"public_name": name}
        )
        return None if value is None else float(value)

    wait_until(lambda: up("vllm/a") == 1.0)
    assert up("vllm/b") == 1.0  # b is down: its alias answers from a
    with caplog.at_level(logging.INFO, logger="llmgw"):
        engines.down_hosts = {"a.vllm:8000"}
        wait_until(lambda: up("vllm/a") == 0.0)
        fails = controller.verifier.fails
        wait_until(lambda: fails.get("vllm/a", 0) >= 4, timeout=60)  # logged once, at 3
        engines.down_hosts = set()
        wait_until(lambda: up("vllm/a") == 1.0)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("vllm/a ")]
    assert said[0].startswith("vllm/a failed 3 verifications in a row")
    assert len([m for m in said if "failed" in m]) == 1
    assert said[-1].startswith("vllm/a answers again")
