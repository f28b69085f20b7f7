"""``prisma.engine.errors``: the engine's errors (no engine runs here)."""

from prisma.errors import EngineError, PrismaError


class AlreadyConnectedError(EngineError):
    pass


class NotConnectedError(EngineError):
    pass


class UnprocessableEntityError(EngineError):
    pass


class EngineConnectionError(EngineError):
    pass


class EngineRequestError(EngineError):
    pass


__all__ = ["AlreadyConnectedError", "EngineError", "NotConnectedError", "PrismaError"]
