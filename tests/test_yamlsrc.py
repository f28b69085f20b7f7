"""Reading YAML: bounded against alias bombs, duplicate keys refused, positions from nodes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from llmgw import config, yamlsrc
from llmgw.errors import InputError


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("x-bomb:\n  " + alias_bomb().replace("\n", "\n  ") + "gateway: {}\n")
    start = time.monotonic()
    with pytest.raises(InputError) as info:
        config.load(path)
    assert time.monotonic() - start < 10
    assert str(path) in info.value.message and "aliases expand" in info.value.message
    assert info.value.exit_code == 2


def test_reused_anchors_within_the_bound_are_fine() -> None:
    text = "base: &b {k: v}\n" + "".join(f"u{i}: *b\n" for i in range(1000))
    assert yamlsrc.load(text, Path("x"))["u999"] == {"k": "v"}


def test_duplicate_keys_are_refused_with_position() -> None:
    with pytest.raises(InputError, match=r"x:3:1: duplicate key 'a'"):
        yamlsrc.load("a: 1\nb: 2\na: 3\n", Path("x"))


def test_merge_keys_may_be_overridden() -> None:
    data = yamlsrc.load("d: &d {a: 1, b: 2}\ne:\n  <<: *d\n  a: 9\n", Path("x"))
    assert data["e"] == {"a": 9, "b": 2}


def test_position_finds_keys_and_items() -> None:
    text = "models:\n  vllm:\n    - name: a\n    - name: b\n      port: x\n"
    assert yamlsrc.position(text, ("models", "vllm", 1, "port")) == (5, 7)
    assert yamlsrc.position(text, ("models", "nope")) == (1, 1)
    assert yamlsrc.position("[", ("a",)) is None
