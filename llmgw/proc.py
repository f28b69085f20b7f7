"""Running outside programs: one wrapper, so a missing binary or a failure is a typed error."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llmgw.errors import ExternalError


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    missing_hint: str | None = None,
) -> Result:
    """Run ``argv`` capturing output; the caller decides what a non-zero exit means."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            env=dict(env) if env is not None else None,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError:
        raise ExternalError(f"{argv[0]} not found", hint=missing_hint) from None
    except PermissionError:
        raise ExternalError(f"{argv[0]} is not executable", hint=missing_hint) from None
    except subprocess.TimeoutExpired:
        raise ExternalError(f"{' '.join(argv[:3])} did not finish within {timeout:.0f}s") from None
    return Result(tuple(argv), done.returncode, done.stdout, done.stderr)
