"""The pure sync plan: deterministic ids, ownership, and the least writes that converge."""

from __future__ import annotations

from typing import Any

from llmgw import sync

OWNER = "ai/gw"


def entry(name: str, api_base: str = "http://a.vllm:8000/v1", **params: Any) -> dict[str, Any]:
    return {
        "public_name": f"vllm/{name}",
        "name": name,
        "kind": "vllm",
        "namespace": "vllm",
        "litellm_params": {"model": f"hosted_vllm/{name}", "api_base": api_base, **params},
        "model_info": {"mode": "chat"},
    }


def stored(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as /model/info returns them: params may be stripped, db_model added."""
    return [
        {
            "model_name": r["model_name"],
            "litellm_params": {"model": r["litellm_params"]["model"]},
            "model_info": {**r["model_info"], "db_model": True},
        }
        for r in rows
    ]


def test_ids_are_deterministic_and_distinct() -> None:
    a, b = sync.desired_rows([entry("a")], OWNER), sync.desired_rows([entry("a")], OWNER)
    assert a == b
    assert (
        sync.desired_rows([entry("a")], "ai/other")[0]["model_info"]["id"]
        != a[0]["model_info"]["id"]
    )
    info = a[0]["model_info"]
    assert info[sync.MANAGED] is True and info[sync.OWNER] == OWNER
    assert info[sync.KEYS] == ["api_base", "model"]


def test_in_step_means_no_writes_even_with_stripped_params() -> None:
    desired = sync.desired_rows([entry("a"), entry("b")], OWNER)
    p = sync.plan(desired, stored(desired), OWNER)
    assert p.writes == 0 and not (p.added or p.removed or p.changed)


def test_create_patch_replace_delete() -> None:
    before = sync.desired_rows([entry("a"), entry("b", timeout=30), entry("c")], OWNER)
    after = sync.desired_rows(
        [entry("a", api_base="http://a.vllm:9000/v1"), entry("b"), entry("d")], OWNER
    )
    p = sync.plan(after, stored(before), OWNER)
    assert [r["model_name"] for r in p.create] == ["vllm/d"]
    assert [(c.desired["model_name"], c.how) for c in p.change] == [
        ("vllm/a", "patch"),
        ("vllm/b", "replace"),  # timeout must go: no endpoint clears a param
    ]
    assert [r["model_name"] for r in p.delete] == ["vllm/c"]
    assert (p.added, p.removed, p.changed) == (["vllm/d"], ["vllm/c"], ["vllm/a", "vllm/b"])
    assert p.writes == 1 + 1 + 2 + 1


def test_only_our_rows_are_ever_touched() -> None:
    ours = sync.desired_rows([entry("a")], OWNER)
    config_model = {
        "model_name": "vllm/a",
        "litellm_params": {},
        "model_info": {"id": "x", "db_model": False, sync.MANAGED: True, sync.OWNER: OWNER},
    }
    ui_row = {
        "model_name": "vllm/z",
        "litellm_params": {},
        "model_info": {"id": "y", "db_model": True},
    }
    other = {
        "model_name": "vllm/q",
        "litellm_params": {},
        "model_info": {"id": "z", "db_model": True, sync.MANAGED: True, sync.OWNER: "ai/else"},
    }
    p = sync.plan([], [*stored(ours), config_model, ui_row, other], OWNER)
    assert [r["model_info"]["id"] for r in p.delete] == [ours[0]["model_info"]["id"]]
    assert len(p.unmanaged) == 3
