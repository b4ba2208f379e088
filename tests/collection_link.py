"""Where the tests find the collection: a link to the work tree as
``<COLLECTIONS>/ansible_collections/alicloud_ecs/lifecycle``, in the same place scripts/lib.sh makes it
(outside the work tree, keyed by its path)."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLLECTIONS = os.path.join(
    tempfile.gettempdir(),
    "alicloud-ecs-lifecycle-" + hashlib.sha256(str(REPO).encode()).hexdigest()[:12],
    "collections",
)


def link_collection() -> None:
    target = os.path.join(COLLECTIONS, "ansible_collections", "alicloud_ecs", "lifecycle")
    if not os.path.islink(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(REPO, target)
    if COLLECTIONS not in sys.path:
        sys.path.insert(0, COLLECTIONS)
