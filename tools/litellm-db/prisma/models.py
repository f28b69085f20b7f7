"""``prisma.models``: one row class per table of LiteLLM's schema."""

from __future__ import annotations

from prisma._rows import Row, row_class


def __getattr__(name: str) -> type[Row]:
    if name.startswith("__"):
        raise AttributeError(name)
    return row_class(name)
