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
