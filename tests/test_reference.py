from __future__ import annotations

from typing import Any

from llmgw import reference
from llmgw.config import Config


def _paths(schema: dict[str, Any], node: dict[str, Any], prefix: str = "") -> set[str]:
    """Every key path in pydantic's own JSON schema of the config: independent of the walk
    ``reference`` does over the model classes."""
    out: set[str] = set()
    for name, prop in (node.get("properties") or {}).items():
        out.add(prefix + name)
        for sub, is_list in _objects(schema, prop):
            out |= _paths(schema, sub, f"{prefix}{name}[]." if is_list else f"{prefix}{name}.")
    return out


def _objects(schema: dict[str, Any], prop: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    """The object schemas a property holds (through $ref, anyOf and array items)."""
    found: list[tuple[dict[str, Any], bool]] = []
    for option in prop.get("anyOf") or [prop]:
        is_list = option.get("type") == "array"
        target = option.get("items", {}) if is_list else option
        ref = target.get("$ref")
        if ref and not ref.endswith("/SecretRef"):  # a SecretRef is documented as one value
            found.append((schema["$defs"][ref.rsplit("/", 1)[1]], is_list))
    return found


def test_every_key_of_the_schema_is_documented() -> None:
    documented = {row[0] for row in reference.rows()}
    missing = {
        p
        for p in _paths(Config.model_json_schema(), Config.model_json_schema())
        if p not in documented
        and not any(
            p.startswith(f"{sib}[].")
            for sib in (
                "bedrock.embedding",
                "models.sglang",
                "models.tgi",
                "models.ollama",
                "models.tei",
            )
        )
    }
    assert missing == set()
    assert all(row[3] for row in reference.rows()), [
        row[0] for row in reference.rows() if not row[3]
    ]


def test_defaults_and_types_come_from_the_schema() -> None:
    rows: dict[str, Any] = {row[0]: row for row in reference.rows()}
    assert rows["gateway.release"][1:3] == ("string", "`litellm`")
    assert rows["gateway.replicas"][1:3] == ("integer", "`1`")
    assert rows["bedrock.llm[].model"][2] == "required"
    assert rows["secrets.mode"][1] == "`reference` or `inline`"
    assert rows["models.tei"][1] == "list, entries as `models.vllm[]`"
    table = reference.markdown()
    assert table.startswith("| key | type | default | meaning |")
    assert table.count("\n") == len(rows) + 2


def test_docs_page_carries_the_marker() -> None:
    from tests.conftest import REPO

    assert "<!-- llmgw:config-reference -->" in (REPO / "docs/configuration.md").read_text()


def test_the_committed_configuration_reference_is_current() -> None:
    """docs/configuration.md holds the generated table; the schema cannot change without it."""
    import importlib.util

    from tests.conftest import REPO

    spec = importlib.util.spec_from_file_location(
        "config_reference", REPO / "tools/config_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (REPO / "docs/configuration.md").read_text()
    assert module.current(text) == text, "run `python tools/config_reference.py`"


def test_the_readme_synopsis_names_every_option_of_every_command() -> None:
    """The README, the docs and --help agree: each option a command takes is in its synopsis."""
    import re

    import typer

    from llmgw.cli import app
    from tests.conftest import REPO

    command = typer.main.get_command(app)
    readme = (REPO / "README.md").read_text()
    synopsis = readme.split("```sh\nllmgw discover", 1)[1].split("```", 1)[0]
    blocks = re.split(r"\nllmgw ", "llmgw discover" + synopsis)
    by_name: dict[str, str] = {}
    for block in blocks:
        name = block.removeprefix("llmgw ").split()[0]
        by_name.setdefault(name, "")
        by_name[name] += block
    commands = getattr(command, "commands", {})
    missing = []
    for name, sub in commands.items():
        text = by_name.get(name, "")
        for param in sub.params:
            opts = [*param.opts, *getattr(param, "secondary_opts", [])]
            if not any(o.startswith("-") for o in opts) or param.name in ("config", "help"):
                continue
            if not any(re.search(rf"(^|[\s\[|]){re.escape(o)}\b", text) for o in opts):
                missing.append(f"{name} {opts[0]}")
    assert missing == [], missing
