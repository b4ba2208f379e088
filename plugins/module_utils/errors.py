# Copyright: Contributors to the alicloud_ecs.lifecycle collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's error types. Modules catch ``EcsError`` once and turn it into ``fail_json``."""

from __future__ import annotations

import typing as t


class EcsError(Exception):
    """Any failure a module reports; ``result`` carries what the task result should still say."""

    def __init__(self, message: str, result: t.Optional[t.Dict[str, t.Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = dict(result or {})


class EcsApiError(EcsError):
    """A call the ECS API refused, or that never got an answer, after every retry."""

    def __init__(self, action: str, code: str, message: str, status: t.Optional[int] = None,
                 request_id: str = "", attempts: int = 1) -> None:
        self.action = action
        self.code = code
        self.api_message = message
        self.status = status
        self.request_id = request_id
        self.attempts = attempts
        rendered = f"{action} failed: {code}: {message}"
        if request_id:
            rendered += f" (request id {request_id})"
        super().__init__(rendered, {
            "error": {
                "action": action,
                "code": code,
                "message": message,
                "status": status,
                "request_id": request_id,
                "attempts": attempts,
            },
        })


class InvalidOptionError(EcsError):
    """Bad input, found before any API call; the message names the option."""

    def __init__(self, option: str, problem: str) -> None:
        self.option = option
        super().__init__(f"{option}: {problem}")


class WaitTimeout(EcsError):
    """A waiter gave up; the message says what it was waiting for and what is still pending."""

    def __init__(self, what: str, timeout: float, pending: t.Sequence[str], total: int) -> None:
        self.pending = list(pending)
        shown = ", ".join(self.pending[:20])
        if len(self.pending) > 20:
            shown += f", ... ({len(self.pending) - 20} more)"
        super().__init__(
            f"Timed out after {timeout:g}s waiting for {what}; "
            f"{len(self.pending)} of {total} still pending: {shown}",
            {"pending": self.pending},
        )
