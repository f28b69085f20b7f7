"""`llmgw verify` on the real LiteLLM proxy: the example's kind of gateway (values mode, the
rendered proxy_config as the chart mounts it), its engines an OpenAI stand-in reached as the
proxy's HTTP_PROXY, so a backend can be stopped by host."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmgw import pipeline
from tests import litellm_proxy
from tests.conftest import Result
from tests.k8s_objects import kube_list, pod, service
from tests.litellm_proxy import MASTER_KEY, Proxy
from tests.openai_standin import Engines, serve

Cli = Callable[..., Result]

CONFIG = """
gateway: {release: gw, namespace: gw, chart_version: "1.0.0"}
models:
  vllm:
    - {name: llama-a, namespace: ns-a, model_name: llama}
    - {name: llama-b, namespace: ns-b, model_name: llama}
    - {name: solo, namespace: ns-s}
    - {name: gone, namespace: ns-g}
  tei:
    - {name: bge, namespace: ns-e}
router:
  num_retries: 2  # a group with one member down answers from the other
  allowed_fails: 0
  cooldown_time: 60
  fallbacks:
    vllm/gone: [llama]
"""
PODS = {"ns-a": "llama-a", "ns-b": "llama-b", "ns-s": "solo", "ns-g": "gone", "ns-e": "bge"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Proxy, Engines]]:
    work = tmp_path_factory.mktemp("verify")
    items: list[dict[str, Any]] = []
    for ns, name in PODS.items():
        state = "crashloop" if name == "gone" else "ready"
        items.append(pod(f"{name}-0", ns, {"app": name}, state=state))
        items.append(service(name, ns, {"app": name}, 80 if ns == "ns-e" else 8000))
    snap = work / "cluster.json"
    snap.write_text(json.dumps(kube_list(items)))
    config = work / "config.yaml"
    config.write_text(CONFIG)
    rendered = pipeline.render(config, pipeline.Source(pods_from=snap), env={})
    proxy_config = yaml.safe_load(rendered.text)["proxy_config"]
    engines = Engines()
    with serve(engines) as backend:
        env = {"PROXY_MASTER_KEY": MASTER_KEY, **litellm_proxy.through(backend)}
        with litellm_proxy.start(proxy_config, env, work) as proxy:
            yield config, snap, proxy, engines


def verify(cli: Cli, world: tuple[Path, Path, Proxy, Engines], *extra: str) -> Result:
    config, snap, proxy, _engines = world
    return cli("-c", config, "verify", "--pods-from", snap, "--gateway-url", proxy.url, *extra)


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_MASTER_KEY", MASTER_KEY)


def test_every_name_answers_with_its_latency(
    cli: Cli, world: tuple[Path, Path, Proxy, Engines], key: None
) -> None:
    result = verify(cli, world, "-o", "json")
    assert result.code == 0, result.err
    verdicts = {v["name"]: v for v in json.loads(result.out)["verdicts"]}
    assert set(verdicts) == {"llama", "vllm/solo", "tei/bge", "vllm/gone"}
    assert all(v["ok"] and v["status"] == 200 and v["latency_s"] > 0 for v in verdicts.values())
    assert verdicts["vllm/solo"]["answered_by"] == "vllm/solo"
    assert not verdicts["vllm/solo"]["fallback"]
    # The down name is answered through its fallback, and says so.
    assert verdicts["vllm/gone"]["answered_by"] == "llama" and verdicts["vllm/gone"]["fallback"]
    table = verify(cli, world)
    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].split() == [
        "RESULT",
        "PUBLIC_NAME",
        "STATUS",
        "LATENCY",
        "ANSWERED_BY",
        "ERROR",
    ]
    assert len(lines) == 5 and MASTER_KEY not in table.out + table.err


def test_a_stopped_backend_fails_exactly_its_name_and_a_group_keeps_answering(
    cli: Cli, world: tuple[Path, Path, Proxy, Engines], key: None
) -> None:
    _config, _snap, _proxy, engines = world
    engines.down_hosts = {"solo.ns-s:8000", "llama-a.ns-a:8000"}
    try:
        result = verify(cli, world, "-o", "json")
    finally:
        engines.down_hosts = set()
    assert result.code == 1, result.err
    verdicts = {v["name"]: v for v in json.loads(result.out)["verdicts"]}
    assert [n for n, v in verdicts.items() if not v["ok"]] == ["vllm/solo"]
    assert verdicts["vllm/solo"]["status"] >= 400 and verdicts["vllm/solo"]["error"]
    assert MASTER_KEY not in result.out + result.err
    assert "failed: vllm/solo" in result.err
    # llama's other member answered (a retry or the other deployment: the group is up)
    assert verdicts["llama"]["ok"]


def test_a_slow_name_is_its_own_timed_out_verdict_not_a_failed_run(
    cli: Cli, world: tuple[Path, Path, Proxy, Engines], key: None
) -> None:
    """A request past --timeout: that name fails as "timed out", the run goes on (exit 1),
    and a gateway that is not there at all stays exit 3 (the test above)."""
    _config, _snap, _proxy, engines = world
    engines.delay = 2.0
    try:
        result = verify(cli, world, "tei/bge", "--timeout", "0.5", "-o", "json")
    finally:
        engines.delay = 0.0
    assert result.code == 1, result.err
    [verdict] = json.loads(result.out)["verdicts"]
    assert (verdict["name"], verdict["ok"], verdict["error"]) == ("tei/bge", False, "timed out")


def test_names_can_be_chosen_and_an_unknown_one_is_refused(
    cli: Cli, world: tuple[Path, Path, Proxy, Engines], key: None
) -> None:
    chosen = verify(cli, world, "tei/bge", "-o", "json")
    assert chosen.code == 0, chosen.err
    assert [v["name"] for v in json.loads(chosen.out)["verdicts"]] == ["tei/bge"]
    unknown = verify(cli, world, "vllm/nope")
    assert unknown.code == 2 and "not served by the gateway now: vllm/nope" in unknown.err


def test_an_unreachable_gateway_is_exit_3(
    cli: Cli, world: tuple[Path, Path, Proxy, Engines], key: None
) -> None:
    config, snap, _proxy, _engines = world
    result = cli("-c", config, "verify", "--pods-from", snap, "--gateway-url", "http://127.0.0.1:9")
    assert result.code == 3 and "unreachable" in result.err


def test_a_wrong_master_key_is_one_line_about_the_gateway_not_a_row_per_name(
    cli: Cli, world: tuple[Path, Path, Proxy, Engines], monkeypatch: pytest.MonkeyPatch
) -> None:
    """LiteLLM without a database answers a key it does not know with 400 "No connected db."
    on /model/info: the gateway's answer, said once with the endpoint (exit 3), not a FAILED
    row per name and not "a bug in llmgw"."""
    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-not-the-gateways-key")
    result = verify(cli, world)
    assert result.code == 3, result.err
    line = result.err.splitlines()[0]
    assert "GET /model/info: 400" in line or "the gateway refused the master key" in line, line
    assert "internal error" not in result.err and "bug in llmgw" not in result.err
    assert "FAILED" not in result.out + result.err
    assert "sk-not-the-gateways-key" not in result.out + result.err


def test_a_gateway_url_without_a_scheme_is_a_usage_error(
    cli: Cli, world: tuple[Path, Path, Proxy, Engines], key: None
) -> None:
    config, snap, _proxy, _engines = world
    result = cli("-c", config, "verify", "--pods-from", snap, "--gateway-url", "localhost:4000")
    assert result.code == 2
    assert "'localhost:4000' needs a scheme, e.g. http://localhost:4000" in result.err
    assert "unreachable" not in result.err
