"""The rows `llmgw sync` writes, routed by the real LiteLLM proxy: every engine, both replicas.

Two real proxy replicas share one store (tests/litellm_db.py). llmgw syncs through the first;
the second serves the rows after its own reload, as a second pod behind the Service would.
Each public name must then reach its engine's Service (the OpenAI stand-in, as the replicas'
HTTP proxy, records the host) with the served model name.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from llmgw import pipeline, syncer
from tests import litellm_db
from tests.litellm_proxy import MASTER_KEY, Proxy
from tests.openai_standin import Engines
from tests.openai_standin import serve as serve_engines
from tests.test_e2e_litellm import all_engines_snapshot

CONFIG = """gateway: {release: gw, namespace: ai, model_source: api, url: URL}
bedrock:
  region: eu-central-1
  llm: [{name: nova-pro, model: eu.amazon.nova-pro-v1:0}]
models:
  vllm: [{name: llama-8b, weight: 2}]
  sglang: [{name: qwen-7b}]
  tgi: [{name: mistral-7b}]
  ollama: [{name: llama3-2-3b, served_name: "llama3.2:3b"}]
  tei: [{name: bge-small}]
secrets:
  salt_key: {env: LITELLM_SALT_KEY}
"""
#: Where each public name must be routed: the Service the snapshot gives its pods.
HOSTS = {
    "vllm/llama-8b": "llama-8b.vllm:8000",
    "sglang/qwen-7b": "qwen-7b.sglang:30000",
    "tgi/mistral-7b": "mistral-7b.tgi",  # port 80 is left out of the URL
    "ollama/llama3-2-3b": "ollama.ollama:11434",
    "tei/bge-small": "bge-small.tei",
}


class _Quiet:
    def phase(self, name: str) -> None: ...
    def preview(self, preview: Any) -> None: ...
    def confirm(self, question: str) -> bool | None:
        return True


@pytest.fixture(scope="module")
def synced(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[syncer.Outcome, list[Proxy], Engines]]:
    work = tmp_path_factory.mktemp("sync")
    engines = Engines()
    with (
        serve_engines(engines) as backend,
        litellm_db.replicas(work, 2, http_proxy=backend) as proxies,
    ):
        config = work / "config.yaml"
        config.write_text(CONFIG.replace("URL", proxies[0].url))
        snap = all_engines_snapshot(work / "cluster.json")
        outcome = syncer.run(
            syncer.Settings(config, pipeline.Source(pods_from=snap), yes=True),
            _Quiet(),
            env={"LITELLM_MASTER_KEY": MASTER_KEY},
        )
        deadline = time.monotonic() + 15
        while proxies[1].model_ids() != sorted(outcome.names):
            assert time.monotonic() < deadline, "the second replica never loaded the rows"
            time.sleep(0.2)
        yield outcome, proxies, engines


def test_every_synced_row_is_routable_on_the_other_replica(
    synced: tuple[syncer.Outcome, list[Proxy], Engines],
) -> None:
    outcome, proxies, engines = synced
    assert outcome.applied and outcome.writes == 6
    for row in outcome.plan.create:
        name, model = row["model_name"], row["litellm_params"]["model"]
        if model.startswith("bedrock/"):
            continue
        before = len(engines.seen)
        if row["model_info"]["mode"] == "embedding":
            status, body = proxies[1].call(
                "POST", "/v1/embeddings", {"model": name, "input": ["hi"]}
            )
        else:
            status, body = proxies[1].chat(name, f"sync {name}")
        assert status == 200, (name, body)
        reached = engines.seen[before:]
        assert [(s.host, s.model) for s in reached] == [(HOSTS[name], model.split("/", 1)[1])]


def test_the_rows_keep_their_ids_and_llmgw_keys(
    synced: tuple[syncer.Outcome, list[Proxy], Engines],
) -> None:
    outcome, proxies, _engines = synced
    status, body = proxies[1].call("GET", "/v1/model/info")
    assert status == 200, body
    seen = {m["model_info"]["id"]: m["model_info"] for m in body["data"]}
    for row in outcome.plan.create:
        info = seen[row["model_info"]["id"]]
        assert info["llmgw_managed"] is True and info["llmgw_owner"] == "ai/gw"
        assert info["db_model"] is True


def test_the_proxy_takes_the_key_in_x_litellm_api_key(
    synced: tuple[syncer.Outcome, list[Proxy], Engines],
) -> None:
    """Through the API server's services proxy only this header reaches the gateway."""
    _outcome, proxies, _engines = synced
    request = urllib.request.Request(
        proxies[0].url + "/v1/models", headers={"x-litellm-api-key": MASTER_KEY}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
