"""Writing files so that a failed run leaves every file as it was."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from llmgw.errors import InputError


def write_atomic(path: Path, text: str, private: bool = False) -> None:
    """Replace ``path`` with ``text`` in one rename; readers see the old or the new file.

    An existing file keeps its permissions; a new one gets the umask's, or owner-only when it
    holds secrets (``private``).
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    if private:
        mode &= 0o700
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except FileNotFoundError:
        raise InputError(f"{path}: directory {directory} does not exist") from None
    except PermissionError:
        raise InputError(f"{path}: no permission to write in {directory}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, IsADirectoryError):
            raise InputError(f"{path}: is a directory") from None
        if isinstance(exc, PermissionError):
            raise InputError(f"{path}: permission denied") from None
        raise


def refuse_inputs(flag: str, out: Path, inputs: dict[str, Path | None]) -> None:
    """An output path that is one of the run's inputs (after symlinks) is refused before any
    work: ``render --out config.yaml`` replaced the config with chart values."""
    target = out.expanduser().resolve()
    for what, path in inputs.items():
        if path is not None and path.expanduser().resolve() == target:
            raise InputError(
                f"{flag} {out}: that is the {what} this run reads ({path}); writing there "
                "would replace it",
                hint="write somewhere else (the default is values.rendered.yaml)"
                if flag != "--save"
                else "save the snapshot to another file, e.g. cluster.yaml",
            )
