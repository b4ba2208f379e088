"""The one error type the emulator's world raises; the server renders it as the real ECS error body."""

from __future__ import annotations


class ApiError(Exception):
    """A refusal with the HTTP status, code and message the real ECS API answers with."""

    def __init__(self, status: int, code: str, message: str, recommend: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.recommend = recommend


def missing_parameter(name: str) -> ApiError:
    return ApiError(400, "MissingParameter", f"The input parameter \"{name}\" that is mandatory for processing this request is not supplied.")


def invalid_parameter(name: str, detail: str = "") -> ApiError:
    message = f"The specified parameter \"{name}\" is not valid."
    if detail:
        message = f"{message} {detail}"
    return ApiError(400, "InvalidParameter", message)
