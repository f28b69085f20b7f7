"""Write the configuration reference into docs/configuration.md, or check it is current.

Run: python tools/config_reference.py          # after changing the schema
     python tools/config_reference.py --check  # CI and the docs build: exit 1 when stale

The table is generated from llmgw's schema (llmgw.reference) and committed between the two
markers, so the page reads the same on GitHub as on the built site and cannot drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "configuration.md"
START, END = "<!-- llmgw:config-reference -->", "<!-- /llmgw:config-reference -->"


def current(text: str) -> str:
    """The page with the generated table between the markers."""
    sys.path.insert(0, str(REPO))
    from llmgw.reference import markdown

    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1] if END in rest else rest
    return f"{before}{START}\n{markdown().rstrip()}\n{END}{after}"


def main(argv: list[str]) -> int:
    text = PAGE.read_text(encoding="utf-8")
    wanted = current(text)
    if "--check" in argv:
        if wanted != text:
            print(
                f"{PAGE.relative_to(REPO)}: the configuration reference is stale\n"
                "hint: run `python tools/config_reference.py` and commit the page",
                file=sys.stderr,
            )
            return 1
        return 0
    PAGE.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
