"""The rows `llmgw sync` writes, proved routable by the real LiteLLM proxy.

The proxy cannot run with a database here, so the rows a sync sends to the management-API
stand-in are loaded by the real proxy as its config `model_list` (the same shape /model/new
takes, ids included); every public name must then reach its backend with the served name.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from llmgw import pipeline, syncer
from tests import litellm_proxy
from tests.litellm_api_standin import KEY, Api, serve
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


class _Quiet:
    def phase(self, name: str) -> None: ...
    def preview(self, preview: Any) -> None: ...
    def confirm(self, question: str) -> bool | None:
        return True


@pytest.fixture(scope="module")
def synced(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[list[dict[str, Any]], Proxy, Engines]]:
    work = tmp_path_factory.mktemp("sync")
    api = Api()
    engines = Engines()
    with serve(api) as url, serve_engines(engines) as backend:
        config = work / "config.yaml"
        config.write_text(CONFIG.replace("URL", url))
        snap = all_engines_snapshot(work / "cluster.json")
        outcome = syncer.run(
            syncer.Settings(config, pipeline.Source(pods_from=snap), yes=True),
            _Quiet(),
            env={"LITELLM_MASTER_KEY": KEY},
        )
        assert outcome.applied and outcome.writes == 6
        rows = [dict(r) for r in api.store.values()]
        model_list = json.loads(json.dumps(rows))
        for row in model_list:
            params = row["litellm_params"]
            if "api_base" in params:
                params["api_base"] = re.sub(r"^http://[^/]+", backend, params["api_base"])
        proxy_config = {
            "model_list": model_list,
            "general_settings": {"master_key": "os.environ/PROXY_MASTER_KEY"},
        }
        with litellm_proxy.start(proxy_config, {"PROXY_MASTER_KEY": MASTER_KEY}, work) as proxy:
            yield rows, proxy, engines


def test_every_synced_row_is_routable(synced: tuple[list[dict[str, Any]], Proxy, Engines]) -> None:
    rows, proxy, engines = synced
    assert proxy.model_ids() == sorted(r["model_name"] for r in rows)
    for row in rows:
        model = row["litellm_params"]["model"]
        if model.startswith("bedrock/"):
            continue
        served = model.split("/", 1)[1]
        before = len(engines.models())
        if row["model_info"]["mode"] == "embedding":
            status, body = proxy.call(
                "POST", "/v1/embeddings", {"model": row["model_name"], "input": ["hi"]}
            )
        else:
            status, body = proxy.chat(row["model_name"], f"sync {row['model_name']}")
        assert status == 200, (row["model_name"], body)
        assert engines.models()[before:] == [served], row["model_name"]


def test_the_rows_keep_their_ids_and_llmgw_keys(
    synced: tuple[list[dict[str, Any]], Proxy, Engines],
) -> None:
    rows, proxy, _engines = synced
    status, body = proxy.call("GET", "/v1/model/info")
    assert status == 200, body
    seen = {m["model_info"]["id"]: m["model_info"] for m in body["data"]}
    for row in rows:
        info = seen[row["model_info"]["id"]]
        assert info["llmgw_managed"] is True and info["llmgw_owner"] == "ai/gw"


def test_the_proxy_takes_the_key_in_x_litellm_api_key(
    synced: tuple[list[dict[str, Any]], Proxy, Engines],
) -> None:
    """Through the API server's services proxy only this header reaches the gateway."""
    _rows, proxy, _engines = synced
    request = urllib.request.Request(
        proxy.url + "/v1/models", headers={"x-litellm-api-key": MASTER_KEY}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 200
