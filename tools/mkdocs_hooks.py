"""mkdocs hook: the configuration reference is generated from the schema at build time."""

from __future__ import annotations

from typing import Any

MARKER = "<!-- llmgw:config-reference -->"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER in markdown:
        from llmgw.reference import markdown as reference

        return markdown.replace(MARKER, reference())
    return markdown
