"""One small exception hierarchy, raised deep and caught once by the CLI.

Each error carries the exit code of its kind (the table in docs/commands.md: 2 bad input,
3 an outside system failed, 4 refused for safety) and an optional hint that tells the user
what to do, so no layer between the fault and the CLI needs to know about either.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_DIFFERENCE = 1
EXIT_INPUT = 2
EXIT_EXTERNAL = 3
EXIT_REFUSED = 4


class LlmgwError(Exception):
    """Base of every error a user may see; the message names what is at fault."""

    exit_code = EXIT_INPUT

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(LlmgwError):
    """Bad arguments, config or template: the user can fix it and run again."""

    exit_code = EXIT_INPUT


class ExternalError(LlmgwError):
    """An outside system (cluster, helm, AWS) failed or refused."""

    exit_code = EXIT_EXTERNAL


class RefusedError(LlmgwError):
    """The run would make things worse (e.g. drop served models); refused for safety."""

    exit_code = EXIT_REFUSED
