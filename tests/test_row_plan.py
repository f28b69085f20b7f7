"""The pure sync plan: deterministic ids, ownership, and the least writes that converge."""

from __future__ import annotations

from typing import Any

from llmgw import row_plan

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
    a, b = row_plan.desired_rows([entry("a")], OWNER), row_plan.desired_rows([entry("a")], OWNER)
    assert a == b
    assert (
        row_plan.desired_rows([entry("a")], "ai/other")[0]["model_info"]["id"]
        != a[0]["model_info"]["id"]
    )
    info = a[0]["model_info"]
    assert info[row_plan.MANAGED] is True and info[row_plan.OWNER] == OWNER
    # A changed deployment is a new row: created before the old one goes.
    changed = row_plan.desired_rows([entry("a", timeout=30)], OWNER)[0]["model_info"]["id"]
    assert changed != info["id"]


def test_in_step_means_no_writes_even_with_stripped_params() -> None:
    desired = row_plan.desired_rows([entry("a"), entry("b")], OWNER)
    p = row_plan.plan(desired, stored(desired), OWNER)
    assert p.writes == 0 and not (p.added or p.removed or p.changed)


def test_a_change_is_a_new_row_and_the_old_one_deleted() -> None:
    before = row_plan.desired_rows([entry("a"), entry("b", timeout=30), entry("c")], OWNER)
    after = row_plan.desired_rows(
        [entry("a", api_base="http://a.vllm:9000/v1"), entry("b"), entry("d")], OWNER
    )
    p = row_plan.plan(after, stored(before), OWNER)
    assert [r["model_name"] for r in p.create] == ["vllm/a", "vllm/b", "vllm/d"]
    assert [r["model_name"] for r in p.delete] == ["vllm/a", "vllm/b", "vllm/c"]
    assert (p.added, p.removed, p.changed) == (["vllm/d"], ["vllm/c"], ["vllm/a", "vllm/b"])
    assert p.writes == 6


def test_a_model_info_key_removed_from_the_config_leaves_the_row() -> None:
    """PATCH merges model_info: a key once sent would stay. A new row has only what is sent."""
    with_key = entry("a")
    with_key["model_info"] = {"mode": "chat", "team": "x"}
    before = row_plan.desired_rows([with_key], OWNER)
    after = row_plan.desired_rows([entry("a")], OWNER)
    p = row_plan.plan(after, stored(before), OWNER)
    assert [r["model_info"] for r in p.create] == [after[0]["model_info"]]
    assert "team" not in p.create[0]["model_info"]
    assert [r["model_info"]["id"] for r in p.delete] == [before[0]["model_info"]["id"]]


def alias_copy(row: dict[str, Any], alias: str) -> dict[str, Any]:
    """What /model/info lists for a model_group_alias entry: the target's row, renamed."""
    return {**row, "model_name": alias}


def test_an_alias_copy_is_neither_ours_to_delete_nor_a_served_name() -> None:
    desired = row_plan.desired_rows([entry("a"), entry("b")], OWNER)
    listed = stored(desired)
    listed.append(alias_copy(listed[1], "vllm/down"))  # vllm/down answered by vllm/b
    router = {"model_group_alias": {"vllm/down": "vllm/b"}, "fallbacks": []}
    p = row_plan.plan(desired, listed, OWNER, router, router)
    assert p.writes == 0 and (p.added, p.removed, p.changed) == ([], [], [])
    assert p.unmanaged == []


def test_router_settings_follow_and_are_written_whole() -> None:
    desired = row_plan.desired_rows([entry("a"), entry("b")], OWNER)
    listed = [*stored(desired), alias_copy(stored(desired)[1], "vllm/down")]
    live = {"model_group_alias": {"vllm/down": "vllm/b"}, "num_retries": 2}
    # vllm/down is back: its alias goes; every key llmgw keeps is written, empty ones too.
    p = row_plan.plan(desired, listed, OWNER, {"fallbacks": [{"vllm/a": ["vllm/b"]}]}, live)
    assert p.router == {
        "fallbacks": [{"vllm/a": ["vllm/b"]}],
        "context_window_fallbacks": [],
        "model_group_alias": {},
    }
    assert p.router_changes == [
        "changed router_settings.fallbacks",
        "changed router_settings.model_group_alias",
    ]
    assert p.writes == 1 and not p.removed
    # Not asked about the router (None): it is left as it is.
    assert row_plan.plan(desired, listed, OWNER, None, live).router is None


def test_only_our_rows_are_ever_touched() -> None:
    ours = row_plan.desired_rows([entry("a")], OWNER)
    config_model = {
        "model_name": "vllm/a",
        "litellm_params": {},
        "model_info": {"id": "x", "db_model": False, row_plan.MANAGED: True, row_plan.OWNER: OWNER},
    }
    ui_row = {
        "model_name": "vllm/z",
        "litellm_params": {},
        "model_info": {"id": "y", "db_model": True},
    }
    other = {
        "model_name": "vllm/q",
        "litellm_params": {},
        "model_info": {
            "id": "z",
            "db_model": True,
            row_plan.MANAGED: True,
            row_plan.OWNER: "ai/else",
        },
    }
    p = row_plan.plan([], [*stored(ours), config_model, ui_row, other], OWNER)
    assert [r["model_info"]["id"] for r in p.delete] == [ours[0]["model_info"]["id"]]
    assert len(p.unmanaged) == 3
