"""The one scalar writer: whatever it writes reads back as the same value in YAML 1.1."""

from __future__ import annotations

import pytest
import yaml

from llmgw import configedit, yamlout

# Strings YAML 1.1 (Helm's parser) would read as something else if written plain.
TRICKY = ["0x1F", "0o17", "1:20", "yes", "No", "ON", "~", "null", ".inf", "1e3", "0123", "="]


@pytest.mark.parametrize("text", TRICKY)
def test_render_and_configedit_quote_alike(text: str) -> None:
    for written in (yamlout.yaml_scalar(text), configedit.scalar(text)):
        assert yaml.safe_load(f"k: {written}\n") == {"k": text}, written
        assert yaml.safe_load(f"k: [{written}]\n") == {"k": [text]}, written


def test_inner_colon_stays_plain_in_block_context_only() -> None:
    model = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
    assert yamlout.yaml_scalar(model, block=True) == model
    assert yamlout.yaml_scalar(model) == f'"{model}"'
    for bad in ("a: b", "a:", "a:,b"):
        assert yamlout.yaml_scalar(bad, block=True).startswith('"')


def test_document_round_trips() -> None:
    data = {"a": ["0x1F", {"b": "yes", "c": 1}], "d": {}}
    assert yaml.safe_load(yamlout.document(data)) == data
