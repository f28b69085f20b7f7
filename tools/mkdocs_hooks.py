"""mkdocs hook: the committed configuration reference must be the one the schema gives."""

from __future__ import annotations

from typing import Any


def on_pre_build(config: Any, **_: Any) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("config_reference.py")
    spec = importlib.util.spec_from_file_location("config_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if module.main(["--check"]) != 0:
        raise SystemExit("the configuration reference is stale")
