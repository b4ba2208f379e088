"""Every test sees the collection from the work tree, as ``ansible_collections.alicloud_ecs.lifecycle``."""

from __future__ import annotations

import typing as t

import pytest

from collection_link import link_collection

link_collection()


class FakeTransport:
    """Answers calls from a script of responses and exceptions, and records what was sent."""

    def __init__(self, *answers: t.Any) -> None:
        self.answers = list(answers)
        self.sent: t.List[t.Tuple[str, t.Dict[str, t.Any]]] = []

    def __call__(self, action: str, params: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        self.sent.append((action, dict(params)))
        answer = self.answers.pop(0)
        if callable(answer):
            answer = answer(action, params)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def fake_transport() -> t.Type[FakeTransport]:
    return FakeTransport
