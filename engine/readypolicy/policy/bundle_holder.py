"""What still refers to a built bundle, so `policy build` never overwrites a bundle in use.

A bundle approved in the lock, or named by a stored decision, must stay byte-for-byte what it was: an
auditor replays that decision against it months later.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from readypolicy.policy.lock import LOCK_NAME, read_lock
from readypolicy.store.interface import Store, StoreMissingError


def bundle_holder(lock_path: Path, store: Callable[[], Store]) -> Callable[[str], str | None]:
    """A lookup from a bundle's sha256 to what refers to it: a lock entry, else a stored decision, else None.

    `store` is called only when the lock names no such bundle, so a build without a store never opens one.
    """

    def holder(sha256: str) -> str | None:
        for lanes in read_lock(lock_path).values():
            for entry in lanes.values():
                if entry.sha256 == sha256:
                    return f"{LOCK_NAME} approves it for {entry.pack}/{entry.lane}"
        try:
            opened = store()
            decisions = opened.list_decisions()
        except StoreMissingError:
            return None  # no store, so no decision refers to it
        for row in decisions:
            if (row.record.get("policy") or {}).get("bundle_sha256") == sha256:
                return f"decision {row.decision_id} in {opened.url} was made with it"
        return None

    return holder
