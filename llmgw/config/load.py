"""Loading config.yaml: YAML with positions → the schema, every problem at file:line:column.

Apart from the schema so that what the config may say (``schema``) reads without the machinery
that maps pydantic's error locations back to the user's file, and so a new check across
sections has one obvious place.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ValidationError

from llmgw import charts, yamlsrc
from llmgw.config.schema import BedrockModel, Config, Deployment
from llmgw.engines import ENGINE_NAMES
from llmgw.errors import InputError
from llmgw.redact import excerpt, one_line

#: Top-level keys that hold a mapping or a list of entries: ``key:`` with nothing is "none".
SECTIONS = frozenset(
    {"gateway", "bedrock", "models", "discover", "router", "o11y", "secrets"}
    | {"litellm_settings", "general_settings"}
)


def load(path: Path) -> Config:
    """Read and validate ``path``; every problem is an InputError naming file:line:col."""
    text = yamlsrc.read_text(path, "config file")
    return parse(text, path)


def parse(text: str, path: Path) -> Config:
    data = yamlsrc.load(text, path)
    if data is None:
        raise InputError(
            f"{path}: the config is empty",
            hint="start from config.example.yaml; the keys are in docs/configuration.md",
        )
    if not isinstance(data, dict):
        raise InputError(
            f"{path}:1:1: the config must be a mapping of sections (gateway, models, …)"
        )
    if "proxy_config" in data and not ({"gateway", "models", "bedrock"} & set(data)):
        raise InputError(
            f"{path}: this is a rendered values file (chart values with proxy_config), not an "
            "llmgw config",
            hint="pass the config it was rendered from with -c (its header names it)",
        )
    # Top-level `x-…` keys hold YAML anchors to reuse (as in Compose files); llmgw ignores them.
    # A section left with nothing under it (every entry commented out) is an empty section.
    data = {
        k: v
        for k, v in data.items()
        if not (isinstance(k, str) and k.startswith("x-")) and not (v is None and k in SECTIONS)
    }
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, text, path) from None
    _check_names(config, text, path)
    _check_settings(config, text, path)
    return config


def _check_settings(config: Config, text: str, path: Path) -> None:
    """Settings that depend on each other across sections."""
    from llmgw.config import passthrough

    for where, what, fix in passthrough.problems(config):
        raise InputError(f"{_where(text, path, where)}: {_key_path(where)}: {what}", hint=fix)
    chart = charts.chart(config.gateway.chart_kind)
    if config.secrets.mode == "inline" and not chart.takes_inline_secrets:
        loc: tuple[str | int, ...] = ("secrets", "mode")
        raise InputError(
            f"{_where(text, path, loc)}: secrets.mode: inline is not possible with the "
            f"{chart.kind} chart: it takes the master key only from a Secret",
            hint="use secrets.mode: reference (deploy writes the Secret from your environment)",
        )
    gw = config.gateway
    if config.ingress_enabled() and not (gw.host or gw.domain) and not gw.ingress_plain_http:
        loc = ("gateway", "ingress")
        raise InputError(
            f"{_where(text, path, loc)}: gateway.ingress: true without gateway.domain or "
            "gateway.host would serve the gateway over plain HTTP, master key included",
            hint="set gateway.domain (HTTPS on litellm.<domain>), or accept plain HTTP with "
            "gateway.ingress_plain_http: true",
        )
    if gw.model_source == "api":
        problem = ""
        if config.secrets.salt_key is None:
            problem = (
                "needs secrets.salt_key: LiteLLM encrypts the stored models with it, and it must "
                "never change"
            )
        elif not gw.store_model_in_db:
            problem = "needs gateway.store_model_in_db: true (the models live in the database)"
        if problem:
            loc = ("gateway", "model_source")
            raise InputError(
                f"{_where(text, path, loc)}: gateway.model_source: api {problem}",
                hint="e.g. secrets: {salt_key: {secret: litellm-salt, key: salt}}; see "
                "docs/sync.md",
            )
    if config.bedrock.region is None:
        for d in config.deployments():
            if isinstance(d.model, BedrockModel) and d.model.region is None:
                raise InputError(
                    f"{_where(text, path, d.loc)}: {_key_path(d.loc)}: no AWS region for "
                    f"{excerpt(d.model.name)}: set bedrock.region (or region: on the model)",
                    hint="the gateway calls Bedrock in that region, e.g. bedrock: {region: "
                    "us-west-2}",
                )


def _as_written(value: object) -> str:
    """A value in the user's words, as YAML read it: the date 2001-12-14, not
    ``datetime.date(2001, 12, 14)``."""
    import datetime

    if isinstance(value, datetime.date | datetime.datetime):
        return f"the date {value.isoformat()}"
    if value is None:
        return "nothing (null)"
    return excerpt(value, 40)


def _validation_error(exc: ValidationError, text: str, path: Path) -> InputError:
    errors = _drop_shadowed(exc.errors(include_url=False))
    root = yamlsrc.compose(text)  # one parse locates every error
    lines = [_describe(err, text, path, root) for err in errors[:10]]
    if len(errors) > 10:
        lines.append(f"… and {len(errors) - 10} more")
    return InputError("\n".join(lines), hint=f"fix {path} and run again")


def _drop_shadowed(errors: list[Any]) -> list[Any]:
    """Drop complaints another one explains.

    For a union (``database: bundled | {...}``) keep the deeper branch's complaint only; a
    missing key next to an unknown one is the same typo (``nme:`` for ``name:``).
    """
    locs = [_clean_loc(e["loc"]) for e in errors]
    typo_parents = {
        loc[:-1] for e, loc in zip(errors, locs, strict=True) if e["type"] == "extra_forbidden"
    }
    return [
        err
        for err, loc in zip(errors, locs, strict=True)
        if not (
            err["type"] == "literal_error"
            and any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs)
        )
        and not (err["type"] == "missing" and loc[:-1] in typo_parents)
    ]


def _describe(err: Mapping[str, Any], text: str, path: Path, root: Any) -> str:
    loc = _clean_loc(err["loc"])
    where = _where(text, path, loc, root)
    key_path = _key_path(loc) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        message = f"unknown key {excerpt(loc[-1])}"
        same_case = [a for a in allowed if a.lower() == str(loc[-1]).lower()]
        close = same_case or difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        if close:
            message += f": did you mean {close[0]!r}?"
        elif allowed:
            message += f" (expected one of: {', '.join(allowed)})"
        if loc[:-1] == ("models",):
            message += f"; known engines are {', '.join(ENGINE_NAMES)}"
    elif kind == "missing":
        message = "is required"
    else:
        message = _in_words(kind, one_line(str(err["msg"]).removeprefix("Value error, ")))
        if "input" in err and kind.endswith("_type") and not _secret_path(loc):
            message += f" (got {_as_written(err['input'])})"
            if kind == "string_type" and isinstance(err["input"], bool | int | float):
                message += "; quote it: YAML reads yes/no/on/off, true/false and numbers as such"
            elif kind == "bool_type" and isinstance(err["input"], str):
                message += "; write true or false, without quotes"
            elif kind in ("int_type", "float_type") and isinstance(err["input"], bool):
                message += "; YAML reads yes/no/on/off and true/false as booleans: write a number"
            elif kind in ("int_type", "float_type") and _quoted(root, err["loc"]):
                message += "; write the number without quotes"
        if _secret_path(loc) and kind in ("model_type", "model_attributes_type", "dict_type"):
            message += (
                "; name where the secret is ({env: VAR} or {secret: NAME, key: KEY}), "
                "never the value"
            )
    return f"{where}: {key_path}: {message}"


#: pydantic's phrases for a wrong type, in the words of a YAML file.
_TYPE_WORDS = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list (- item lines, or [a, b])",
    "dict_type": "must be a mapping (key: value lines, or {key: value})",
    "model_type": "must be a mapping (key: value lines, or {key: value})",
    "model_attributes_type": "must be a mapping (key: value lines, or {key: value})",
}


def _in_words(kind: str, message: str) -> str:
    return _TYPE_WORDS.get(kind) or message.replace("Input should be", "must be")


def _quoted(root: Any, loc: Sequence[Any]) -> bool:
    node = yamlsrc.node_at(root, _clean_loc(loc))
    return node is not None and node.id == "scalar" and node.style in ("'", '"')


def _clean_loc(loc: Sequence[Any]) -> tuple[str | int, ...]:
    """The key path of an error, without the union member names pydantic puts in it.

    pydantic names the member of a union it tried (``ExistingDatabase``, ``literal['bundled']``,
    ``str``) as if it were a key. Which parts are such names is decided by walking the schema
    beside the path, so a user's key that happens to look like one (``Gateway``, ``App``) stays.
    """
    out: list[str | int] = []
    current: Any = Config
    for part in loc:
        members = _union_members(current)
        if members is not None and isinstance(part, str):
            current = next((m for m in members if _member_tag(m, part)), None)
            continue
        out.append(part)
        current = _step(current, part)
    return tuple(out)


def _union_members(tp: Any) -> list[Any] | None:
    """The members of a union of two or more types (``X | None`` is no union to pydantic)."""
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    members = [a for a in typing.get_args(tp) if a is not type(None)]
    return members if len(members) > 1 else None


def _member_tag(member: Any, part: str) -> bool:
    if isinstance(member, type):
        return member.__name__ == part
    origin = typing.get_origin(member)
    if origin is Literal:
        return part.startswith("literal[")
    return origin is not None and part.startswith(f"{origin.__name__}[")


def _step(tp: Any, part: str | int) -> Any:
    """The type one key (or index) below ``tp`` in the schema; None when it cannot tell."""
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
        field = tp.model_fields.get(part)
        return field.annotation if field else None
    args = typing.get_args(tp)
    if typing.get_origin(tp) is list and isinstance(part, int) and args:
        return args[0]
    if typing.get_origin(tp) is dict and len(args) == 2:
        return args[1]
    return None


def _where(text: str, path: Path, loc: Sequence[str | int], root: Any = None) -> str:
    pos = yamlsrc.position(text, loc, root)
    return f"{path}:{pos[0]}:{pos[1]}" if pos else str(path)


def _key_path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _secret_path(loc: Sequence[str | int]) -> bool:
    """A value here may be a secret a user pasted by mistake: never echo it."""
    return any(
        isinstance(p, str) and any(w in p for w in ("secret", "key", "password", "username"))
        for p in loc
    )


def _allowed_keys(loc: Sequence[str | int]) -> list[str]:
    """The keys the schema allows at ``loc``, for did-you-mean suggestions."""
    current: Any = Config
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = field.annotation if field else None
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    """Strip Optional/Annotated/unions down to the one model class inside, if any."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            models = [
                a for a in typing.get_args(tp) if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            lists = [a for a in typing.get_args(tp) if typing.get_origin(a) is list]
            tp = models[0] if models else (lists[0] if lists else None)
        else:
            return tp


def _check_names(config: Config, text: str, path: Path) -> None:
    """Names are the gateway's keys: check what pydantic cannot see one model at a time.

    Every ``name`` is unique (it is the model's identity, and its default label). Models that
    share a public name form a group, which must be all chat or all embedding. Fallbacks name
    configured public names (or, with ``discover:`` rules, names a rule may find).
    """
    seen: dict[str, tuple[str | int, ...]] = {}
    groups: dict[str, Deployment] = {}
    for d in config.deployments():
        loc = (*d.loc, "name")
        name = str(d.model.name)
        if name in seen:
            raise InputError(
                f"{_where(text, path, loc)}: {_key_path(loc)}: duplicate model name {name!r}, "
                f"already used by {_key_path(seen[name])}",
                hint="every model needs its own name; to serve several under one public name, "
                "give them the same model_name (a group)",
            )
        seen[name] = loc
        first = groups.setdefault(d.public_name, d)
        if first.mode != d.mode:
            where = (*d.loc, "model_name") if d.model.model_name else loc
            raise InputError(
                f"{_where(text, path, where)}: {_key_path(where)}: the group "
                f"{excerpt(d.public_name)} mixes {first.mode} ({_key_path(first.loc)}) and "
                f"{d.mode} models",
                hint="a group's members must all be chat or all embedding models",
            )
    for section in ("fallbacks", "context_window_fallbacks"):
        for source, targets in getattr(config.router, section).items():
            key_loc: tuple[str | int, ...] = ("router", section, source)
            # With discover rules, a name may be one a rule finds at run time: it is
            # checked then, and an unknown one is reported, not fatal.
            if source not in groups and not config.discover:
                raise _unknown_public(text, path, key_loc, source, groups)
            for index, target in enumerate(targets):
                item_loc = (*key_loc, index)
                if target not in groups and not config.discover:
                    raise _unknown_public(text, path, item_loc, target, groups)
                if target == source:
                    raise InputError(
                        f"{_where(text, path, item_loc)}: {_key_path(item_loc)}: "
                        f"{excerpt(source)} cannot fall back to itself"
                    )


def _unknown_public(
    text: str, path: Path, loc: tuple[str | int, ...], name: str, known: Mapping[str, Any]
) -> InputError:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    tip = f": did you mean {close[0]!r}?" if close else ""
    return InputError(
        f"{_where(text, path, loc)}: {_key_path(loc)}: {excerpt(name)} is not a configured "
        f"public model name{tip}",
        hint="fallbacks use the names clients ask for (e.g. vllm/llama-3-1-8b, bedrock/"
        "claude-3.7-sonnet); `llmgw discover` lists them",
    )
