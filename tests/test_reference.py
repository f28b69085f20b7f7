from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from llmgw import reference
from llmgw.config import Config


def _paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for name, field in model.model_fields.items():
        out.add(prefix + name)
        for sub in reference._models_in(field.annotation):
            out |= {
                p
                for p in _paths(
                    sub,
                    f"{prefix}{name}[]." if "list" in str(field.annotation) else f"{prefix}{name}.",
                )
            }
    return out


def test_every_key_of_the_schema_is_documented() -> None:
    documented = {row[0] for row in reference.rows()}
    missing = {
        p
        for p in _paths(Config)
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
