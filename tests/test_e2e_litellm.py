"""The rendered gateway, proved on a real LiteLLM proxy.

The proxy (pinned, installed by tools/install-litellm.sh) starts on loopback with the
rendered ``proxy_config``, a real Redis for the cache it configures, and every self-hosted
model's api_base pointed at an OpenAI/Ollama stand-in on loopback. Requests go through the
proxy with the master key; the stand-in records which model name reached it. Bedrock models
are checked for shape only (no AWS). In CI a missing proxy or Redis fails the run.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmgw import pipeline, render
from llmgw.config import SecretRef, key_env
from tests import labelled, litellm_proxy
from tests.conftest import REPO
from tests.k8s_objects import kube_list, pod, service
from tests.litellm_proxy import MASTER_KEY, Proxy, free_port, need
from tests.openai_standin import Engines, serve

REDIS_PASSWORD = "e2e-redis-pw"
VLLM_KEY = "sk-vllm-e2e-key"


@pytest.fixture(scope="module")
def redis() -> Iterator[int]:
    binary = need(shutil.which("redis-server"), "redis-server")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--requirepass",
            REDIS_PASSWORD,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[Engines, str]]:
    seen = Engines()
    with serve(seen) as url:
        yield seen, url


def all_engines_snapshot(path: Path) -> Path:
    items = [
        pod(
            "llama-8b-0",
            "vllm",
            {"app": "llama-8b"},
            command=["vllm", "serve"],
            args=["meta-llama/Llama-3.1-8B-Instruct"],
        ),
        service("llama-8b", "vllm", {"app": "llama-8b"}, 8000),
        pod(
            "qwen-7b-0",
            "sglang",
            {"app": "qwen-7b"},
            args=["--model-path", "Qwen/Qwen2.5-7B-Instruct"],
        ),
        service("qwen-7b", "sglang", {"app": "qwen-7b"}, 30000),
        pod(
            "mistral-7b-0",
            "tgi",
            {"app": "mistral-7b"},
            args=["--model-id", "mistralai/Mistral-7B-Instruct-v0.3"],
        ),
        service("mistral-7b", "tgi", {"app": "mistral-7b"}, 80),
        pod("llama3-2-3b-0", "ollama", {"app": "llama3-2-3b"}),
        service("ollama", "ollama", {"app": "llama3-2-3b"}, 11434),
        pod(
            "bge-small-0",
            "tei",
            {"app": "bge-small"},
            args=["--model-id", "BAAI/bge-small-en-v1.5"],
        ),
        service("bge-small", "tei", {"app": "bge-small"}, 80),
    ]
    path.write_text(json.dumps(kube_list(items)))
    return path


@dataclass
class Gateway(Proxy):
    name: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    engines: Engines = field(default_factory=Engines)

    @property
    def proxy_config(self) -> dict[str, Any]:
        return dict(render.proxy_config_of(self.values))

    @property
    def model_list(self) -> list[dict[str, Any]]:
        return list(self.proxy_config["model_list"])


SNAPSHOTS: dict[str, Callable[[Path], Path]] = {
    "all-engines": all_engines_snapshot,
    "label-found": labelled.snapshot,
}
CONFIGS = {
    "example": (REPO / "config.example.yaml", None),
    "all-engines": (REPO / "tests/e2e/all-engines.yaml", "all-engines"),
    "litellm-chart": (REPO / "tests/e2e/litellm-chart.yaml", "all-engines"),
    # No model listed: every self-hosted one found by its labels (tests/labelled.py).
    "label-found": (labelled.CONFIG, "label-found"),
}


@pytest.fixture(scope="module", params=list(CONFIGS))
def gateway(
    request: pytest.FixtureRequest,
    redis: int,
    engines: tuple[Engines, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    seen, stand_in = engines
    work = tmp_path_factory.mktemp(request.param)
    config_path, snap = CONFIGS[request.param]
    cluster = SNAPSHOTS[snap](work / "cluster.json") if snap else REPO / "examples/cluster.yaml"
    rendered = pipeline.render(config_path, pipeline.Source(pods_from=cluster), env={})
    values = yaml.safe_load(rendered.text)
    proxy_config = render.proxy_config_of(values)
    for entry in proxy_config["model_list"]:
        params = entry["litellm_params"]
        if "api_base" in params:  # cluster DNS names do not resolve here: same path, loopback host
            params["api_base"] = re.sub(r"^http://[^/]+", stand_in, params["api_base"])
    # What each chart sets from its master key Secret: litellm-helm PROXY_MASTER_KEY; the litellm
    # chart LITELLM_MASTER_KEY (and PROXY_MASTER_KEY, left out here: the config must not need it).
    master_env = (
        "LITELLM_MASTER_KEY" if render.chart_kind_of(values) == "litellm" else "PROXY_MASTER_KEY"
    )
    env = {
        master_env: MASTER_KEY,
        "LANGFUSE_PUBLIC_KEY": "pk-lf-e2e",
        "LANGFUSE_SECRET_KEY": "sk-lf-e2e",
        "LANGFUSE_HOST": stand_in,
        "PHOENIX_COLLECTOR_HTTP_ENDPOINT": f"{stand_in}/v1/traces",
    }
    # The managed Secret's engine keys, as deploy writes it and the pods load it (envFrom).
    env[key_env(SecretRef(env="VLLM_API_KEY"))] = VLLM_KEY
    if proxy_config["litellm_settings"].get("cache"):  # the chart's Redis, as the chart wires it
        env.update(REDIS_HOST="127.0.0.1", REDIS_PORT=str(redis), REDIS_PASSWORD=REDIS_PASSWORD)
    with litellm_proxy.start(proxy_config, env, work) as proxy:
        yield Gateway(proxy.url, proxy.log, request.param, values, seen)


def test_models_lists_exactly_the_rendered_names(gateway: Gateway) -> None:
    """Every public name once (a group is one name), plus the names answered by an alias."""
    aliases = gateway.proxy_config.get("router_settings", {}).get("model_group_alias", {})
    expected = {e["model_name"] for e in gateway.model_list} | set(aliases)
    assert gateway.model_ids() == sorted(expected)
    if gateway.name == "example":
        assert "bedrock/claude-3.7-sonnet" in expected
        assert "vllm/llama-3-1-8b-int8-neuron" in expected
        assert aliases == {"vllm/qwen3-8b-fp8-neuron": "sglang/qwen2-5-7b-instruct"}


def test_every_self_hosted_model_answers_with_its_served_name(gateway: Gateway) -> None:
    keyed = [e["model_name"] for e in gateway.model_list if "api_key" in e["litellm_params"]]
    assert keyed == (["vllm/llama-8b"] if gateway.name == "all-engines" else []), keyed
    for entry in gateway.model_list:
        params = entry["litellm_params"]
        if params["model"].startswith("bedrock/"):
            continue
        served = params["model"].split("/", 1)[1]
        before = len(gateway.engines.seen)
        if entry["model_info"]["mode"] == "embedding":
            status, body = gateway.call(
                "POST",
                "/v1/embeddings",
                {"model": entry["model_name"], "input": [f"hello {gateway.name}"]},
            )
            assert status == 200, (entry["model_name"], body)
            assert body["data"][0]["embedding"] == [0.1, 0.2, 0.3]
        else:
            # Distinct text per gateway: the Redis cache the config turns on would answer repeats.
            status, body = gateway.call(
                "POST",
                "/v1/chat/completions",
                {
                    "model": entry["model_name"],
                    "messages": [{"role": "user", "content": f"hi from {gateway.name}"}],
                },
            )
            assert status == 200, (entry["model_name"], body)
            assert body["choices"][0]["message"]["content"] == f"hello from {served}"
        seen = [s for s in gateway.engines.seen[before:] if not s.model.startswith("langfuse:")]
        assert [s.model for s in seen] == [served], (entry["model_name"], seen)
        # An engine with api_key: gets its own key from the pod's variable; no other does.
        sent = seen[0].authorization
        assert (sent == f"Bearer {VLLM_KEY}") == ("api_key" in params), (entry["model_name"], sent)


def test_requests_without_the_master_key_are_refused(gateway: Gateway) -> None:
    name = gateway.model_list[-1]["model_name"]
    for key in (None, "sk-wrong"):
        status, _ = gateway.call(
            "POST",
            "/v1/chat/completions",
            {"model": name, "messages": [{"role": "user", "content": "hi"}]},
            key=key,
        )
        assert status in (400, 401, 403), (key, status, _)
    assert gateway.call("GET", "/v1/models", key=None)[0] in (400, 401, 403)


def test_bedrock_models_are_routed_to_bedrock(gateway: Gateway) -> None:
    status, body = gateway.call("GET", "/v1/model/info")
    assert status == 200, body
    # One row per deployment: a group's members share a model_name.
    info = {(m["model_name"], m["litellm_params"]["model"]): m for m in body["data"]}
    bedrock = [e for e in gateway.model_list if e["litellm_params"]["model"].startswith("bedrock/")]
    assert bedrock
    for entry in bedrock:
        assert entry["litellm_params"]["aws_region_name"]
        row = info[(entry["model_name"], entry["litellm_params"]["model"])]
        # LiteLLM names Bedrock models served through the Converse API `bedrock_converse`.
        provider = row["model_info"]["litellm_provider"]
        assert provider in ("bedrock", "bedrock_converse"), provider
        assert row["model_info"].get("mode") == entry["model_info"]["mode"]


def test_repeated_request_is_served_from_the_redis_cache(gateway: Gateway) -> None:
    if not gateway.proxy_config["litellm_settings"].get("cache"):
        assert gateway.name == "example"  # the example leaves the response cache off
        return
    entry = next(
        e
        for e in gateway.model_list
        if e["model_info"]["mode"] == "chat" and "api_base" in e["litellm_params"]
    )
    body = {
        "model": entry["model_name"],
        "messages": [{"role": "user", "content": f"cache me {gateway.name}"}],
    }
    assert gateway.call("POST", "/v1/chat/completions", body)[0] == 200
    before = len(gateway.engines.seen)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the cache write is asynchronous
        time.sleep(0.3)
        assert gateway.call("POST", "/v1/chat/completions", body)[0] == 200
        if (
            len([s for s in gateway.engines.seen[before:] if not s.model.startswith("langfuse:")])
            == 0
        ):
            return
        before = len(gateway.engines.seen)
    pytest.fail("a repeated request reached the engine again: the Redis cache is not in use")


def test_langfuse_callback_reaches_its_host(gateway: Gateway) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if any(s.model.startswith("langfuse:") for s in gateway.engines.seen):
            return
        time.sleep(0.5)
    pytest.fail("no Langfuse ingestion reached LANGFUSE_HOST:\n" + gateway.log.read_text()[-2000:])


def test_a_group_prefers_its_lower_order(gateway: Gateway) -> None:
    """mistral-7b-instruct in the example: TGI (order 1) takes the traffic, Bedrock (2) waits."""
    if gateway.name != "example":
        return
    members = [e for e in gateway.model_list if e["model_name"] == "mistral-7b-instruct"]
    assert sorted(e["litellm_params"]["order"] for e in members) == [1, 2]
    before = len(gateway.engines.models())
    for i in range(5):
        status, body = gateway.chat("mistral-7b-instruct", f"order {i}")
        assert status == 200, body
    assert gateway.engines.models()[before:] == ["mistralai/Mistral-7B-Instruct-v0.3"] * 5


def test_a_name_that_is_down_answers_through_its_alias(gateway: Gateway) -> None:
    if gateway.name != "example":
        return
    before = len(gateway.engines.models())
    status, body = gateway.chat("vllm/qwen3-8b-fp8-neuron", "are you there")
    assert status == 200, body
    assert gateway.engines.models()[before:] == ["Qwen/Qwen2.5-7B-Instruct"]


def test_label_found_models_are_served_exactly(gateway: Gateway) -> None:
    """The rule's finds, and only those: the unknown image, the hostile annotation and the
    unlabelled server are not on the gateway."""
    if gateway.name != "label-found":
        return
    assert gateway.model_ids() == sorted([*labelled.EXPECTED, "bedrock/nova-pro"])
