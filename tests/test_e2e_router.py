"""Public names, groups, fallbacks and aliases, proved on the real LiteLLM proxy.

Five self-hosted models on five loopback backends (each an OpenAI stand-in that records what
reached it): two members of one group `llama`, a primary whose backend answers 500 and falls
back to `tgi/secondary`, and a model with no ready pod (`vllm/gone`) that keeps answering
through its fallback. The rendered proxy_config is what the chart would mount.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmgw import pipeline
from tests import litellm_proxy
from tests.k8s_objects import kube_list, pod, service
from tests.litellm_proxy import MASTER_KEY, Proxy
from tests.openai_standin import Engines, serve

CONFIG = """
gateway: {release: gw, namespace: gw, chart_version: "1.0.0", ingress: false}
models:
  vllm:
    - {name: llama-a, namespace: ns-a, model_name: llama, weight: 1}
    - {name: llama-b, namespace: ns-b, model_name: llama, weight: 1}
    - {name: primary, namespace: ns-p}
    - {name: gone, namespace: ns-g}
  tgi:
    - {name: secondary, namespace: ns-s}
router:
  routing_strategy: simple-shuffle
  num_retries: 2
  allowed_fails: 0
  cooldown_time: 60
  fallbacks:
    vllm/primary: [tgi/secondary]
    vllm/gone: [tgi/secondary]
"""
NAMESPACES = ("ns-a", "ns-b", "ns-p", "ns-g", "ns-s")


def snapshot(path: Path) -> Path:
    items: list[dict[str, Any]] = []
    for ns in NAMESPACES:
        name = {"ns-a": "llama-a", "ns-b": "llama-b", "ns-p": "primary", "ns-g": "gone"}.get(
            ns, "secondary"
        )
        state = "crashloop" if name == "gone" else "ready"
        items.append(
            pod(f"{name}-0", ns, {"app": name}, state=state, args=["--served-model-name", name])
        )
        items.append(service(name, ns, {"app": name}, 8000 if ns != "ns-s" else 80))
    path.write_text(json.dumps(kube_list(items)))
    return path


@dataclass
class Router:
    proxy: Proxy
    values: dict[str, Any]
    backends: dict[str, Engines]
    stack: ExitStack
    stoppers: dict[str, ExitStack]


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Router]:
    work = tmp_path_factory.mktemp("router")
    config = work / "config.yaml"
    config.write_text(CONFIG)
    rendered = pipeline.render(config, pipeline.Source(pods_from=snapshot(work / "c.json")), env={})
    values = yaml.safe_load(rendered.text)
    proxy_config = values["proxy_config"]
    with ExitStack() as stack:
        backends: dict[str, Engines] = {}
        urls: dict[str, str] = {}
        stoppers: dict[str, ExitStack] = {}
        for ns in NAMESPACES:
            backends[ns] = Engines()
            stoppers[ns] = stack.enter_context(ExitStack())
            urls[ns] = stoppers[ns].enter_context(serve(backends[ns]))
        backends["ns-p"].fail = 500
        for entry in proxy_config["model_list"]:
            params = entry["litellm_params"]
            ns = re.match(r"^http://[^.]+\.([^:]+):", params["api_base"]).group(1)  # type: ignore[union-attr]
            params["api_base"] = re.sub(r"^http://[^/]+", urls[ns], params["api_base"])
        proxy = stack.enter_context(
            litellm_proxy.start(proxy_config, {"PROXY_MASTER_KEY": MASTER_KEY}, work)
        )
        yield Router(proxy, values, backends, stack, stoppers)


def test_render_says_which_name_answers_for_the_one_that_is_down(router: Router) -> None:
    settings = router.values["proxy_config"]["router_settings"]
    assert settings["model_group_alias"] == {"vllm/gone": "tgi/secondary"}
    assert settings["fallbacks"] == [{"vllm/primary": ["tgi/secondary"]}]
    assert settings["routing_strategy"] == "simple-shuffle"
    names = [e["model_name"] for e in router.values["proxy_config"]["model_list"]]
    assert names == ["llama", "llama", "vllm/primary", "tgi/secondary"]


def test_models_lists_the_public_names(router: Router) -> None:
    assert router.proxy.model_ids() == sorted(
        ["llama", "vllm/primary", "tgi/secondary", "vllm/gone"]
    )


def test_a_group_spreads_requests_over_its_members(router: Router) -> None:
    for i in range(40):
        status, body = router.proxy.chat("llama", f"spread {i}")
        assert status == 200, body
    a, b = len(router.backends["ns-a"].models()), len(router.backends["ns-b"].models())
    assert a + b == 40 and a >= 10 and b >= 10, (a, b)


def test_a_fallback_answers_when_the_primary_fails(router: Router) -> None:
    before = len(router.backends["ns-s"].models())
    status, body = router.proxy.chat("vllm/primary", "fall back")
    assert status == 200, body
    assert body["choices"][0]["message"]["content"] == "hello from secondary"
    assert router.backends["ns-p"].models()  # the primary was tried, and failed
    assert router.backends["ns-s"].models()[before:] == ["secondary"]


def test_a_name_that_is_down_is_answered_by_its_fallback(router: Router) -> None:
    before = len(router.backends["ns-s"].models())
    status, body = router.proxy.chat("vllm/gone", "still there?")
    assert status == 200, body
    assert router.backends["ns-s"].models()[before:] == ["secondary"]
    assert router.backends["ns-g"].models() == []


def test_a_group_keeps_serving_with_one_member_stopped(router: Router) -> None:
    router.backends["ns-b"].down = True  # llama-b's backend dies: connections dropped
    router.stoppers["ns-b"].close()  # and new ones refused
    before = len(router.backends["ns-a"].models())
    for i in range(20):
        status, body = router.proxy.chat("llama", f"one left {i}")
        assert status == 200, body
    assert len(router.backends["ns-a"].models()) - before == 20
    assert len(router.backends["ns-b"].models()) == 40 - before
