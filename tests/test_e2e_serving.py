"""Models behind serving resources, proved on the real LiteLLM proxy: the rendered config
routes each public name to the address its resource serves at — KServe's HuggingFace runtime
under /openai/v1, an LLMInferenceService's workload Service on 8000, a LeaderWorkerSet's
leader Service, an InferencePool's Gateway, a production-stack router — with its served name.
The engines are one OpenAI stand-in reached as the proxy's HTTP_PROXY, which records the URL
each request was sent to (cluster names are never resolved)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml

from llmgw import pipeline, render
from tests import litellm_proxy
from tests import serving_objects as so
from tests.k8s_objects import kube_list
from tests.litellm_proxy import MASTER_KEY, Proxy
from tests.openai_standin import Engines, serve

NS = "ml"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proxy, Engines, list[str]]]:
    work = tmp_path_factory.mktemp("serving")
    snap = work / "cluster.json"
    snap.write_text(json.dumps(kube_list(so.world(NS))))
    config = work / "config.yaml"
    config.write_text(so.CONFIG.format(ns=NS))
    rendered = pipeline.render(config, pipeline.Source(pods_from=snap), env={})
    proxy_config = render.proxy_config_of(yaml.safe_load(rendered.text))
    names = [e["model_name"] for e in proxy_config["model_list"]]
    engines = Engines()
    with serve(engines) as backend:
        env = {"PROXY_MASTER_KEY": MASTER_KEY, **litellm_proxy.through(backend)}
        with litellm_proxy.start(proxy_config, env, work) as proxy:
            yield proxy, engines, names


def test_the_gateway_serves_exactly_the_ready_resources(
    gateway: tuple[Proxy, Engines, list[str]],
) -> None:
    _proxy, _engines, names = gateway
    assert sorted(names) == sorted(so.expected(NS))  # "slow" is not Ready: left out


@pytest.mark.parametrize("public", sorted(so.expected(NS)))
def test_each_name_reaches_its_resource_s_address_with_its_served_name(
    gateway: tuple[Proxy, Engines, list[str]], public: str
) -> None:
    proxy, engines, _names = gateway
    api_base, served = so.expected(NS)[public]
    before = len(engines.seen)
    status, body = proxy.call(
        "POST",
        "/v1/chat/completions",
        {"model": public, "messages": [{"role": "user", "content": f"hi {public}"}]},
    )
    assert status == 200, body
    [seen] = [s for s in engines.seen[before:] if not s.model.startswith("langfuse:")]
    assert seen.path == f"{api_base}/chat/completions", seen
    assert seen.model == served
