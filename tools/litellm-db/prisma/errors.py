"""prisma-client-py's error classes, by the names LiteLLM catches."""

from __future__ import annotations

from typing import Any


class PrismaError(Exception):
    pass


class DataError(PrismaError):
    def __init__(self, message: str = "", data: Any = None) -> None:
        super().__init__(message)
        self.data = data or {}


class UniqueViolationError(DataError):
    pass


class ForeignKeyViolationError(DataError):
    pass


class MissingRequiredValueError(DataError):
    pass


class RecordNotFoundError(DataError):
    pass


class FieldNotFoundError(DataError):
    pass


class RawQueryError(DataError):
    pass


class TableNotFoundError(DataError):
    pass


class ClientNotConnectedError(PrismaError):
    pass


class ClientAlreadyRegisteredError(PrismaError):
    pass


class ClientNotRegisteredError(PrismaError):
    pass


class HTTPClientClosedError(PrismaError):
    pass


class EngineError(PrismaError):
    pass


class TransactionError(PrismaError):
    pass


class TransactionExpiredError(TransactionError):
    pass


def __getattr__(name: str) -> type[PrismaError]:
    if name.startswith("__"):
        raise AttributeError(name)
    return type(name, (PrismaError,), {})
