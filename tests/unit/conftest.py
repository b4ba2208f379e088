"""Unit tests import the collection from the work tree, as ``ansible_collections.alicloud_ecs.lifecycle``."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import typing as t

import pytest

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The same place scripts/lib.sh links the collection from: outside the work tree, keyed by its path.
_COLLECTIONS = os.path.join(
    tempfile.gettempdir(),
    "alicloud-ecs-lifecycle-" + hashlib.sha256(_REPO.encode()).hexdigest()[:12],
    "collections",
)


def _link_collection() -> None:
    target = os.path.join(_COLLECTIONS, "ansible_collections", "alicloud_ecs", "lifecycle")
    if not os.path.islink(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(_REPO, target)
    if _COLLECTIONS not in sys.path:
        sys.path.insert(0, _COLLECTIONS)


_link_collection()


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
