"""``llmgw add-bedrock-model``: from "AWS released a model" to an entry in config.yaml.

Order matters for "loses nothing": take the lock, read and validate the current config, refuse
duplicates, check the id with AWS, splice the entry in, validate the whole new config, and only
then replace the file atomically. Any failure before the rename leaves the file as it was.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from llmgw import config as config_mod
from llmgw import configedit, files, yamlsrc
from llmgw.config import BedrockModel, Config
from llmgw.errors import InputError
from llmgw.redact import excerpt

LOCK_TIMEOUT = 60.0


@dataclass(frozen=True)
class AddRequest:
    config_path: Path
    name: str
    model_id: str
    region: str | None = None
    embedding: bool = False
    validate: bool = True
    dry_run: bool = False
    #: To join a group (e.g. the same model in another region): its public name, share, priority.
    model_name: str | None = None
    weight: float | None = None
    order: int | None = None


@dataclass(frozen=True)
class AddResult:
    section: str
    region: str
    diff: str
    #: The model_list entry ``render`` will produce for the new model.
    entry: dict[str, Any]
    #: The name clients will ask for.
    public_name: str
    checked: Any  # bedrock.Checked | None
    written: bool


Checker = Callable[[str, str | None], Any]


def aws_check(model_id: str, region: str | None) -> Any:
    from llmgw import bedrock

    return bedrock.check(model_id, bedrock.client(region))


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Serialise edits of one config file across processes."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(path.with_name(f".{path.name}.lock")))
    try:
        with lock.acquire(timeout=LOCK_TIMEOUT):
            yield
    except Timeout:
        raise InputError(
            f"{path} is being edited by another llmgw (lock held for {LOCK_TIMEOUT:.0f}s)",
            hint=f"wait for it, or remove {lock.lock_file} if no llmgw is running",
        ) from None


def add(request: AddRequest, check: Checker = aws_check) -> AddResult:
    section = "embedding" if request.embedding else "llm"
    given: dict[str, Any] = {
        "name": request.name,
        "model": request.model_id,
        "model_name": request.model_name,
        "weight": request.weight,
        "order": request.order,
    }
    try:  # the config's own rules, before anything is read
        BedrockModel(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = str(error["loc"][0])
        what = {"name": "model name NAME", "model": "model id MODEL_ID"}.get(field, f"--{field}")
        what = what.replace("_", "-") if what.startswith("--") else what
        value = given[field]
        shown = excerpt(value) if isinstance(value, str) else configedit.number(value)
        message = str(error["msg"]).removeprefix("Value error, ").replace("Input should", "must")
        raise InputError(
            f"invalid {what} {shown}: {message}",
            hint={
                "name": "e.g. claude-sonnet-4; --model-name gives the group's public name",
                "model": "give the id as `aws bedrock list-foundation-models` prints it",
            }.get(field, "see `llmgw add-bedrock-model --help`"),
        ) from None
    from llmgw import bedrock

    bedrock.check_shape(request.model_id)  # with --no-validate too, and before AWS is asked
    if request.region is not None:
        bedrock.check_region(request.region)
    guard = nullcontext() if request.dry_run else locked(request.config_path)
    with guard:
        path = request.config_path
        # Line endings as they are (a CRLF file stays CRLF): every other byte is kept.
        text = yamlsrc.read_text(path, "config file", keep_newlines=True)
        current = config_mod.parse(text, path)
        region = request.region or current.bedrock.region
        _refuse_duplicates(current, text, path, request, region)
        if region is None:
            raise InputError(
                f"{path}: no AWS region for the new model: the config has no bedrock.region",
                hint="pass --region (it is recorded on the entry), or set bedrock.region",
            )
        checked = check(request.model_id, region) if request.validate else None
        entry = configedit.Entry(
            request.name,
            request.model_id,
            region if region != current.bedrock.region else None,
            request.model_name,
            request.weight,
            request.order,
        )
        new_text = configedit.add_bedrock_model(text, section, entry)
        try:
            updated = config_mod.parse(new_text, path)
        except InputError as exc:
            raise InputError(
                f"{path}: the edit would not give a valid config, so nothing was written: "
                f"{exc.message}",
                hint="please report this with the config file",
            ) from None
        added = [m for m in getattr(updated.bedrock, section) if m.name == request.name]
        if len(added) != 1 or added[0].model != request.model_id:
            raise InputError(f"{path}: could not place the entry; nothing was written")
        diff = "".join(
            difflib.unified_diff(
                text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=str(path),
                tofile=f"{path} (with {request.name})",
            )
        )
        public = updated.public_name("bedrock", added[0])
        preview = rendered_entry(updated, public)
        if not request.dry_run:
            files.write_atomic(path, new_text)
    return AddResult(section, region, diff, preview, public, checked, not request.dry_run)


def _refuse_duplicates(
    current: Config, text: str, path: Path, request: AddRequest, region: str | None
) -> None:
    """The same name twice, or the same id in the same region: the same id in another region
    is the multi-region Bedrock group (one public name, load-balanced)."""
    for section in ("llm", "embedding"):
        for index, model in enumerate(getattr(current.bedrock, section)):
            loc = ("bedrock", section, index)
            if model.name == request.name:
                raise _duplicate(text, path, loc, f"the name {request.name!r}")
            same_region = (model.region or current.bedrock.region) == region
            if model.model == request.model_id and same_region:
                raise _duplicate(
                    text, path, loc, f"the model id {request.model_id!r} in region {region}"
                )
    for engine, index, sh_model in current.models.by_engine():
        if sh_model.name == request.name:
            raise _duplicate(
                text, path, ("models", engine.name, index), f"the name {request.name!r}"
            )


def _duplicate(text: str, path: Path, loc: tuple[str | int, ...], what: str) -> InputError:
    pos = yamlsrc.position(text, loc)
    where = f"{path}:{pos[0]}:{pos[1]}" if pos else str(path)
    key = f"{loc[0]}.{loc[1]}[{loc[2]}]"
    return InputError(
        f"{where}: {key} already holds {what}; {path} is unchanged",
        hint="pick another name, or edit that entry",
    )


def rendered_entry(config: Config, public_name: str) -> dict[str, Any]:
    """What the shipped template renders for one Bedrock model (secrets left as references)."""
    from llmgw import integration, render

    obj = integration.build(config.model_copy(update={"secrets": config_mod.Secrets()}), [], {})
    template = render.default_template(config.gateway.chart_kind)
    values = yamlsrc.load(render.render(template, obj, "config"), Path("values"))
    return dict(next(e for e in render.model_list(values) if e["model_name"] == public_name))
