"""Reading YAML so that every error can name ``file:line:column``, fast and bounded.

libyaml (through PyYAML) parses, YAML 1.1 as Helm reads values, and values are built straight
from its event stream (``_Builder``): fast enough for 50,000-pod snapshots, and the place where
duplicate keys and aliases that expand past a bound (an "alias bomb") are refused. Only when
something is wrong is the text composed to nodes, whose marks locate any key path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmgw.errors import InputError

#: How many nodes aliases may add to a document when expanded. A config that reuses a few
#: anchors adds hundreds; nine levels of nine aliases add 387 million.
MAX_ALIAS_EXPANSION = 100_000


def read_text(path: Path, what: str, keep_newlines: bool = False) -> str:
    """``keep_newlines``: CRLF stays CRLF (an edit writes the file back byte for byte)."""
    try:
        if keep_newlines:
            return path.read_bytes().decode("utf-8")
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
    """Parse one YAML (or JSON) document into plain Python types.

    Duplicate keys are errors, not silently the last one; aliases that would expand past
    ``MAX_ALIAS_EXPANSION`` nodes are refused.
    """
    import yaml

    try:
        loader = _loader()(text)
        try:
            return _Builder(loader, path).document()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        message, hint = _marked_message(path, exc, text)
        raise InputError(message, hint=hint) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {exc}") from None


_STR = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")
_MERGE = object()  # the pending key of a mapping is a merge key (``<<``)


class _Frame:
    """A mapping or sequence being built."""

    __slots__ = ("anchor", "has_key", "key", "key_mark", "merges", "size", "value")

    def __init__(self, value: Any, anchor: str | None) -> None:
        self.value = value
        self.anchor = anchor
        self.size = 1
        self.key: Any = None
        self.key_mark: Any = None
        self.has_key = False
        self.merges: list[Any] = []


class _Builder:
    """Plain Python values straight from libyaml's events.

    PyYAML composes a node tree first, calling back into Python several times per node; for a
    10,000-pod snapshot that costs ten times the parse itself. Building from the event stream
    keeps what the composer and SafeConstructor decide (implicit tags resolved by the same
    resolver, so YAML 1.1 ``yes``/``0x1F``/``1:20``; explicit scalar tags by the same
    constructors; merge keys with the same precedence) and adds the duplicate-key and alias
    checks.
    """

    def __init__(self, loader: Any, path: Path) -> None:
        self.loader = loader
        self.path = path
        self.tags: dict[tuple[str, Any], str] = {}
        self.values: dict[tuple[str, str], Any] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.unique = 0

    def document(self) -> Any:
        import yaml.events as ev

        get = self.loader.get_event
        get()  # StreamStart
        if isinstance(get(), ev.StreamEndEvent):
            return None
        root = self._build(get)
        get()  # DocumentEnd
        extra = get()
        if not isinstance(extra, ev.StreamEndEvent):
            raise self._error("expected a single document, found another", extra.start_mark)
        return root

    def _build(self, get: Any) -> Any:
        import yaml.events as ev

        scalar_event, alias_event = ev.ScalarEvent, ev.AliasEvent
        map_start, seq_start = ev.MappingStartEvent, ev.SequenceStartEvent
        map_end, seq_end = ev.MappingEndEvent, ev.SequenceEndEvent
        tags = self.tags
        stack: list[_Frame] = []
        while True:
            event = get()
            cls = event.__class__
            if cls is scalar_event:
                self.unique += 1
                size = 1
                # The common case inline: a plain scalar whose tag is already known to be str.
                if event.tag is None and tags.get((event.value, event.implicit)) == _STR:
                    value = event.value
                else:
                    value = self._scalar(event)
                if event.anchor:
                    self.anchors[event.anchor] = (value, 1)
            elif cls is map_start or cls is seq_start:
                is_map = cls is map_start
                if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                    raise self._error(f"the tag {event.tag} is not supported", event.start_mark)
                self.unique += 1
                stack.append(_Frame({} if is_map else [], event.anchor))
                continue
            elif cls is map_end or cls is seq_end:
                frame = stack.pop()
                value, size = self._finish(frame)
            elif cls is alias_event:
                if event.anchor not in self.anchors:
                    raise self._error(f"found undefined alias {event.anchor!r}", event.start_mark)
                value, size = self.anchors[event.anchor]
            else:
                raise self._error(f"unexpected {cls.__name__}", event.start_mark)
            if not stack:
                return value
            parent = stack[-1]
            parent.size += size
            container = parent.value
            if container.__class__ is list:
                container.append(value)
            elif not parent.has_key:
                parent.key, parent.key_mark, parent.has_key = value, event.start_mark, True
            else:
                parent.has_key = False
                self._set(parent, value)

    def _finish(self, frame: _Frame) -> tuple[Any, int]:
        value, size = frame.value, frame.size
        if frame.merges:
            merged: dict[Any, Any] = {}
            for source in reversed(frame.merges):  # the first source wins
                merged.update(source)
            merged.update(value)  # the mapping's own keys win over merged ones
            value = merged
        if size - self.unique > MAX_ALIAS_EXPANSION:
            raise InputError(
                f"{self.path}: its aliases expand to more than {MAX_ALIAS_EXPANSION:,} nodes "
                "(nested anchors that multiply); refusing to read it",
                hint="reuse anchors without nesting them many levels deep",
            )
        if frame.anchor:
            self.anchors[frame.anchor] = (value, size)
        return value, size

    def _set(self, frame: _Frame, value: Any) -> None:
        key = frame.key
        if key is _MERGE:
            sources = value if isinstance(value, list) else [value]
            if not all(isinstance(s, dict) for s in sources):
                raise self._error("a merge key (<<) needs mappings", frame.key_mark)
            frame.merges.extend(sources)
            return
        try:
            duplicate = key in frame.value
        except TypeError:
            raise self._error("a key cannot be a mapping or a list", frame.key_mark) from None
        if duplicate:
            raise self._error(f"duplicate key {key!r}", frame.key_mark)
        frame.value[key] = value

    def _scalar(self, event: Any) -> Any:
        from yaml.nodes import ScalarNode

        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:  # quoted: a string
                return event.value
            memo = (event.value, event.implicit)
            tag = self.tags.get(memo)
            if tag is None:
                tag = self.tags[memo] = self.loader.resolve(ScalarNode, event.value, event.implicit)
            if tag == _STR:
                return event.value
            if tag == _MERGE_TAG:
                return _MERGE
        key = (tag, event.value)
        if key not in self.values:
            node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
            try:
                self.values[key] = self.loader.construct_object(node, deep=True)
            except (ValueError, TypeError, OverflowError, AttributeError) as exc:
                # An explicit tag the text does not fit (!!int abc, !!timestamp 2001-13-45);
                # the constructor's own words when they are a reason ("month must be in
                # 1..12"), not when it tripped on its regex (!!timestamp 2001-12-14 x).
                why = "" if isinstance(exc, AttributeError) else f" ({exc})"
                raise self._error(
                    f"{event.value[:40]!r} is not a valid {tag.rsplit(':', 1)[-1]}{why}",
                    event.start_mark,
                ) from None
        return self.values[key]

    def _error(self, problem: str, mark: Any) -> Exception:
        import yaml

        return yaml.constructor.ConstructorError(None, None, problem, mark)


def compose(text: str) -> Any:
    """The node tree of ``text`` (marks included), or None when it is not valid YAML."""
    import yaml

    try:
        loader = _loader()(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError:
        return None


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _marked_message(path: Path, exc: Any, text: str) -> tuple[str, str]:
    """The parser's complaint at its place; a tab where YAML wants spaces said as such (the
    parser calls it "a character that cannot start any token")."""
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if mark is None:
        return f"{path}: {problem}", "fix the YAML there"
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    if "\t" in line[: mark.column + 1] and not line[: mark.column].strip(" \t"):
        column = line.index("\t") + 1
        return (
            f"{path}:{mark.line + 1}:{column}: a tab indents this line; YAML indents with "
            "spaces only",
            "replace the tab with spaces (as many as the lines around it use)",
        )
    return f"{path}:{mark.line + 1}:{mark.column + 1}: {problem}", "fix the YAML there"


def node_at(root: Any, loc: Sequence[str | int]) -> Any:
    """The composed node at ``loc``, or None when the file has no such place."""
    node = root
    for part in loc:
        if node is None:
            return None
        if isinstance(part, int) and node.id == "sequence" and part < len(node.value):
            node = node.value[part]
        elif isinstance(part, str) and node.id == "mapping":
            node = next((v for k, v in node.value if k.id == "scalar" and k.value == part), None)
        else:
            return None
    return node


def position(text: str, loc: Sequence[str | int], root: Any = None) -> tuple[int, int] | None:
    """1-based (line, column) of the deepest node of ``loc`` that exists in ``text``.

    For a mapping key the key's own position is given, which is where a user looks to fix an
    unknown key or a bad value alike. ``root`` is the composed tree when the caller has it
    (many errors in one file are located from one parse).
    """
    node = compose(text) if root is None else root
    if node is None:
        return None
    best = (1, 1)
    for part in loc:
        value = node.value
        if isinstance(part, int) and node.id == "sequence" and part < len(value):
            node = value[part]
            mark = node.start_mark
        elif isinstance(part, str) and node.id == "mapping":
            pair = next(
                (p for p in value if p[0].id == "scalar" and p[0].value == part),
                None,
            )
            if pair is None:
                break
            mark = pair[0].start_mark
            node = pair[1]
        else:
            break
        best = (mark.line + 1, mark.column + 1)
    return best
