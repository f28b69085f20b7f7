"""docs/architecture.md describes the layers `lint-imports` enforces: the two cannot drift."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO


def _contract_layers() -> list[list[str]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [re.split(r"\s*[|:]\s*", layer) for layer in layers["layers"]]


def _documented_layers() -> list[list[str]]:
    text = (REPO / "docs/architecture.md").read_text()
    table = text.split("## The layers", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    out = []
    for row in rows:
        modules_cell = row.split(" | ")[1]
        # `targets` (`base`, `values` | `api`) documents the package, not its parts.
        modules_cell = re.sub(r"\(.*?\)", "", modules_cell)
        out.append(re.findall(r"`([a-z_]+)`", modules_cell))
    return out


def test_the_documented_layers_are_the_checked_ones() -> None:
    assert _documented_layers() == _contract_layers()


def test_every_module_of_the_package_sits_in_a_layer() -> None:
    placed = {m for layer in _contract_layers() for m in layer}
    top = {p.stem for p in (REPO / "llmgw").glob("*.py")} | {
        p.name for p in (REPO / "llmgw").iterdir() if (p / "__init__.py").is_file()
    }
    assert top - {"__init__", "__main__"} == placed
