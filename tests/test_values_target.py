"""The values target's preview: what a helm upgrade would change, as a user reads it."""

from __future__ import annotations

from llmgw.targets.values import preview


def test_a_live_release_without_model_list_is_a_change_in_api_mode() -> None:
    """Values that leave model_list out keep the chart's demo models: the upgrade that sets
    the empty list must run, though no model name changes."""
    live = {"proxy_config": {"general_settings": {"store_model_in_db": True}}}
    new = {"proxy_config": {"model_list": [], "general_settings": {"store_model_in_db": True}}}
    change = preview(live, new, [])
    assert change.other == ["set proxy_config.model_list"]
    assert change.changes
    assert not preview(new, new, []).changes


# -- the live release and the managed Secret (day 2) ----------------------------------------


def test_the_checksum_is_split_from_the_live_values_and_changes_with_any_value() -> None:
    from llmgw.targets.values import CHECKSUM_KEY, secret_checksum, split_checksum

    a = secret_checksum({"PROXY_MASTER_KEY": "k1", "UI_PASSWORD": "p"})
    assert a == secret_checksum({"UI_PASSWORD": "p", "PROXY_MASTER_KEY": "k1"})
    assert a != secret_checksum({"PROXY_MASTER_KEY": "k2", "UI_PASSWORD": "p"})
    assert "k1" not in a
    live = {"replicaCount": 2, "podAnnotations": {CHECKSUM_KEY: a}}
    assert split_checksum(live) == ({"replicaCount": 2}, a)
    mine = {"podAnnotations": {CHECKSUM_KEY: a, "team": "ml"}}
    assert split_checksum(mine) == ({"podAnnotations": {"team": "ml"}}, a)
    assert split_checksum({"x": 1}) == ({"x": 1}, "")
    assert split_checksum(None) == (None, "")


def test_release_changes_name_the_chart_and_a_state_to_mend() -> None:
    from llmgw import helm
    from llmgw.targets.values import release_changes

    live = helm.Revision(4, "deployed", "litellm-helm-1.100.5", "1.100.5")
    newer = helm.ChartId("litellm-helm", "1.101.0", "1.101.0")
    assert release_changes(live, newer) == [
        "chart litellm-helm 1.100.5 → litellm-helm 1.101.0 (LiteLLM 1.100.5 → 1.101.0)"
    ]
    assert release_changes(live, helm.ChartId("litellm-helm", "1.100.5")) == []
    failed = helm.Revision(5, "failed", "litellm-helm-1.100.5", "1.100.5")
    assert release_changes(failed, helm.ChartId("litellm-helm", "1.100.5")) == [
        "release revision 5 is failed: upgrading it"
    ]
    assert release_changes(None, newer) == []


def test_secret_changes_name_keys_never_values() -> None:
    from llmgw.targets.values import secret_changes

    held = {"PROXY_MASTER_KEY": "sk-old", "UI_PASSWORD": "same"}
    data = {"PROXY_MASTER_KEY": "sk-new", "UI_PASSWORD": "same", "LANGFUSE_SECRET_KEY": "x"}
    lines = secret_changes("gw-llmgw-env", held, data)
    assert lines == [
        "Secret gw-llmgw-env: PROXY_MASTER_KEY changed",
        "Secret gw-llmgw-env: LANGFUSE_SECRET_KEY added",
    ]
    assert not any(v in " ".join(lines) for v in ("sk-old", "sk-new", "same"))
    assert secret_changes("s", None, data) == []  # no Secret yet: a first install writes it


def test_split_chart_and_a_local_chart_id() -> None:
    from pathlib import Path

    from llmgw import helm
    from tests.conftest import REPO

    assert helm.split_chart("litellm-helm-1.100.5") == ("litellm-helm", "1.100.5")
    assert helm.split_chart("litellm-1.0.0-rc.1") == ("litellm", "1.0.0-rc.1")
    local = helm.Release("gw", "ai", str(REPO / "tests/charts/litellm-helm-1x"), "", Path("v"))
    assert helm.chart_id(local) == helm.ChartId("litellm-helm", "1.100.5", "1.100.5")
    oci = helm.Release("gw", "ai", "oci://ghcr.io/berriai/litellm-helm", "1.101.0", Path("v"))
    assert helm.chart_id(oci) == helm.ChartId("litellm-helm", "1.101.0")
