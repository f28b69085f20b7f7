"""``prisma.config``: names LiteLLM imports for type hints; any name resolves."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return dict
