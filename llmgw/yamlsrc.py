"""Reading YAML so that every error can name ``file:line:column``.

Documents are parsed with ruamel's fast safe loader; only when something is wrong is the file
parsed again round-trip, which keeps the position of every key and item. That keeps the common
path fast (1,000-model configs) and still lets errors point at the exact place.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmgw.errors import InputError


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found", hint=_not_found_hint(what)) from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a {what}") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied reading the {what}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {what} is not UTF-8 text ({exc.reason})") from None


def _not_found_hint(what: str) -> str | None:
    if what == "config file":
        return "pass -c/--config PATH, set LLMGW_CONFIG, or copy config.example.yaml to config.yaml"
    return None


def load(text: str, path: Path) -> Any:
    """Parse one YAML (or JSON) document with plain Python types.

    libyaml (through PyYAML, which the kubernetes client already needs) parses; YAML 1.1, as
    Helm reads values. Duplicate keys are errors, not silently the last one.
    """
    import yaml

    try:
        return yaml.load(text, Loader=_loader())
    except yaml.MarkedYAMLError as exc:
        raise InputError(_marked_message(path, exc), hint="fix the YAML there") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {exc}") from None


_LOADER: Any = None


def _loader() -> Any:
    global _LOADER
    if _LOADER is None:
        import yaml

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class UniqueKeyLoader(base):  # type: ignore[misc, valid-type]
            def construct_mapping(self, node: Any, deep: bool = False) -> Any:
                seen: set[Any] = set()
                for key_node, _value in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue  # `<<: *defaults`: merged keys may be overridden
                    key = self.construct_object(key_node, deep=deep)
                    if isinstance(key, list | dict):
                        continue
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {key!r}", key_node.start_mark
                        )
                    seen.add(key)
                return super().construct_mapping(node, deep=deep)

        _LOADER = UniqueKeyLoader
    return _LOADER


def _marked_message(path: Path, exc: Any) -> str:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if mark is None:
        return f"{path}: {problem}"
    return f"{path}:{mark.line + 1}:{mark.column + 1}: {problem}"


def position(text: str, loc: Sequence[str | int]) -> tuple[int, int] | None:
    """1-based (line, column) of the deepest node of ``loc`` that exists in ``text``.

    For a mapping key the key's own position is given, which is where a user looks to fix an
    unknown key or a bad value alike.
    """
    from ruamel.yaml import YAML

    try:
        node = YAML(typ="rt").load(text)
    except Exception:
        return None
    best: tuple[int, int] | None = None
    for part in loc:
        lc = getattr(node, "lc", None)
        if lc is None:
            break
        try:
            if isinstance(part, int) and isinstance(node, list) and part < len(node):
                line, col = lc.item(part)
                node = node[part]
            elif isinstance(part, str) and isinstance(node, dict) and part in node:
                line, col = lc.key(part)
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
        best = (line + 1, col + 1)
    if best is None:
        return (1, 1)
    return best
