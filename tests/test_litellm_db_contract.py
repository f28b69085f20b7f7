"""Contract: `llmgw sync` against a real database-backed LiteLLM (opt-in).

Run where LiteLLM with PostgreSQL can run (deploy/compose/litellm-db.yaml):
``LLMGW_LITELLM_URL=http://localhost:4000 LLMGW_LITELLM_KEY=sk-… pytest -m litellm_db``.
The same scenario the stand-in tests prove: a first sync creates, a second writes nothing, a
changed api_base is one update, a removed model is deleted, rows not ours are left alone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from llmgw import pipeline, row_plan, syncer
from tests.k8s_objects import kube_list, pod, service

URL = os.environ.get("LLMGW_LITELLM_URL", "")
KEY = os.environ.get("LLMGW_LITELLM_KEY", "")

pytestmark = [
    pytest.mark.litellm_db,
    pytest.mark.skipif(
        not (URL and KEY),
        reason="set LLMGW_LITELLM_URL and LLMGW_LITELLM_KEY (a LiteLLM with a database)",
    ),
]


class _Yes:
    def phase(self, name: str) -> None: ...
    def preview(self, preview: Any) -> None: ...
    def confirm(self, question: str) -> bool | None:
        return True


def _run(tmp_path: Path, port: int, models: str, allow_removal: bool = False) -> syncer.Outcome:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"gateway: {{release: contract, namespace: llmgw-test, model_source: api, url: {URL}}}\n"
        f"models:\n  vllm: [{models}]\nsecrets: {{salt_key: {{env: LITELLM_SALT_KEY}}}}\n"
    )
    items = [pod("a-0", "vllm", {"app": "a"}), service("a", "vllm", {"app": "a"}, port)]
    items += [pod("b-0", "vllm", {"app": "b"}), service("b", "vllm", {"app": "b"}, 8000)]
    snap = tmp_path / "cluster.json"
    snap.write_text(json.dumps(kube_list(items)))
    settings = syncer.Settings(
        config,
        pipeline.Source(pods_from=snap),
        yes=True,
        allow_removal=allow_removal,
        confirm_timeout=60,
    )
    return syncer.run(settings, _Yes(), env={"LITELLM_MASTER_KEY": KEY})


def test_the_sync_scenario_on_a_real_gateway(tmp_path: Path) -> None:
    first = _run(tmp_path, 8000, "{name: a}, {name: b}", allow_removal=True)
    assert first.converged_after is not None or not first.plan.writes
    assert _run(tmp_path, 8000, "{name: a}, {name: b}").plan.writes == 0
    moved = _run(tmp_path, 9000, "{name: a}, {name: b}")
    assert moved.plan.changed == ["vllm/a"] and moved.converged_after is not None
    assert [r["model_name"] for r in moved.plan.create] == ["vllm/a"]
    assert [r["model_name"] for r in moved.plan.delete] == ["vllm/a"]
    removed = _run(tmp_path, 9000, "{name: a}", allow_removal=True)
    assert [r["model_name"] for r in removed.plan.delete] == ["vllm/b"]
    last = _run(tmp_path, 9000, "{name: a}")
    assert last.plan.writes == 0
    assert all(not row_plan.is_ours(r, "llmgw-test/contract") for r in last.plan.unmanaged)
