"""Byte identity: adding a model changes nothing in config.yaml but the new lines."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest

from llmgw import config, yamlsrc
from llmgw.configedit import Entry, add_bedrock_model
from llmgw.errors import InputError
from tests.conftest import REPO

NEW = Entry("gpt-oss-20b", "openai.gpt-oss-20b-1:0")

CONFIGS = {
    "example": (REPO / "config.example.yaml").read_text(),
    "comments and blank lines": """\
# Gateway for team ML.   (two spaces before this paren)

bedrock:   # AWS
  region: us-west-2

  llm:
    # Anthropic
    - name: claude-3.7-sonnet        # the default
      model: 'us.anthropic.claude-3-7-sonnet-20250219-v1:0'

    # Amazon
    - name: amazon-nova-premier
      model: 'us.amazon.nova-premier-v1:0'


  embedding: []   # none yet
models:
  vllm: []
""",
    "anchors": """\
x-defaults: &region
  region: us-east-1
bedrock:
  <<: *region
  llm:
    - &first
      name: a
      model: m.a
  embedding:
    - name: e
      model: amazon.titan-embed-text-v2:0
x-keep: *first
""",
    "flow style": 'bedrock: {region: us-west-2, llm: [{name: a, model: "m.a"}], embedding: []}\nmodels: {vllm: []}\n',
    "flow items in block list": "bedrock:\n  region: us-west-2\n  llm:\n  - {name: a,   model: m.a}   # spaced\n  - {name: b, model: m.b}\n",
    "odd indentation": "bedrock:\n     region: us-west-2\n     llm:\n         -    name: a\n              model: m.a\n     embedding: []\n",
    "no trailing newline": "bedrock:\n  region: us-west-2\n  llm:\n    - name: a\n      model: m.a",
    "crlf": "bedrock:\r\n  region: us-west-2\r\n  llm:\r\n    - name: a\r\n      model: m.a\r\n  embedding: []\r\n",
    "empty llm": "bedrock:\n  region: us-west-2\n  llm:\n  embedding: []\n",
    "llm null with comment": "bedrock:\n  region: us-west-2\n  llm: ~   # later\n",
    "no llm key": "bedrock:\n  region: us-west-2\n  embedding: []\nmodels: {}\n",
    "no bedrock": "# just models\nmodels:\n  vllm:\n    - name: a\n",
    "empty bedrock flow": "bedrock: {}\n",
    "empty file": "",
    "only comments": "# nothing yet\n",
    "quoted neighbours": 'bedrock:\n  region: us-west-2\n  llm:\n    - name: "a"\n      model: "m.a"\n',
}


def parsed(text: str) -> Any:
    return yamlsrc.load(text, Path("c.yaml")) or {}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("section", ["llm", "embedding"])
def test_only_the_new_entry_appears(name: str, section: str) -> None:
    old = CONFIGS[name]
    new = add_bedrock_model(old, section, NEW)
    ops = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    deleted = "".join(old[i1:i2] for tag, i1, i2, _j1, _j2 in ops if tag in ("delete", "replace"))
    assert deleted in ("", "~")  # a null value's token is all an edit may remove
    before, after = parsed(old), parsed(new)
    entries = (after.get("bedrock") or {}).get(section) or []
    assert entries[-1] == {"name": "gpt-oss-20b", "model": "openai.gpt-oss-20b-1:0"}
    old_entries = ((before.get("bedrock") or {}).get(section)) or []
    assert entries[:-1] == old_entries
    for key in set(before) | set(after):
        if key != "bedrock":
            assert before.get(key) == after.get(key)
    if "\r\n" in old:
        assert "\n" not in new.replace("\r\n", "")


def test_new_entry_follows_the_neighbours_format() -> None:
    new = add_bedrock_model(CONFIGS["comments and blank lines"], "llm", NEW)
    assert "    - name: gpt-oss-20b\n      model: 'openai.gpt-oss-20b-1:0'\n" in new
    # inserted after the last entry, before the blank lines that end the list
    assert new.index("gpt-oss-20b") > new.index("amazon-nova-premier")
    assert new.index("gpt-oss-20b") < new.index("embedding: []")
    odd = add_bedrock_model(CONFIGS["odd indentation"], "llm", NEW)
    assert "         -    name: gpt-oss-20b\n              model: openai.gpt-oss-20b-1:0\n" in odd
    flow = add_bedrock_model(CONFIGS["flow items in block list"], "llm", NEW)
    assert "  - {name: gpt-oss-20b, model: openai.gpt-oss-20b-1:0}\n" in flow


def test_region_override_is_written() -> None:
    new = add_bedrock_model(CONFIGS["example"], "llm", Entry("x", "m.x", "eu-central-1"))
    assert parsed(new)["bedrock"]["llm"][-1] == {
        "name": "x",
        "model": "m.x",
        "region": "eu-central-1",
    }


@pytest.mark.parametrize("name", ["example", "anchors", "comments and blank lines", "crlf"])
def test_edited_config_still_validates(tmp_path: Path, name: str) -> None:
    new = add_bedrock_model(CONFIGS[name], "llm", NEW)
    cfg = config.parse(new, tmp_path / "c.yaml")
    assert cfg.bedrock.llm[-1].model == "openai.gpt-oss-20b-1:0"


def test_hostile_values_stay_literal() -> None:
    evil = Entry("x: y # z", "m'\"\n{{ a }}")
    new = add_bedrock_model(CONFIGS["example"], "llm", evil)
    assert parsed(new)["bedrock"]["llm"][-1] == {"name": "x: y # z", "model": "m'\"\n{{ a }}"}


def test_alias_is_refused() -> None:
    text = "shared: &s\n  - name: a\n    model: m.a\nbedrock:\n  region: us-west-2\n  llm: *s\n"
    with pytest.raises(InputError, match="alias"):
        add_bedrock_model(text, "llm", NEW)


def test_bedrock_not_a_mapping() -> None:
    with pytest.raises(InputError, match="bedrock is not a mapping"):
        add_bedrock_model("bedrock: [1]\n", "llm", NEW)
