"""Bundle vs lock: the approved tarball must still be the bytes, policy and revision the lock pins.

A missing, rebuilt or tampered bundle file is drift, not an error: the lock still says what was
approved and the report names how the file departs from it. Only a bundle that matches the lock
is handed on to the checks that compare against "the approved policy".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from readypolicy.canonical import raw_digest
from readypolicy.drift.interface import Difference
from readypolicy.policy.bundle_read import read_bundle
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.lock import LockEntry


@dataclass(frozen=True)
class ApprovedBundle:
    """One locked bundle and every lane the lock approves it for."""

    lanes: tuple[str, ...]
    """Lanes sharing this bundle (same file, sha256 and digest in the lock)."""
    entry: LockEntry
    """The lock entry of the first of those lanes (the pinned facts are identical)."""
    path: Path
    """Where the bundle file should be."""


def group_entries(lock_path: Path, entries: list[LockEntry]) -> list[ApprovedBundle]:
    """Lock entries grouped by the bundle they pin, in lane order, so a shared bundle is checked once."""
    groups: dict[tuple[str, str, str], list[LockEntry]] = {}
    for entry in entries:
        groups.setdefault((entry.bundle, entry.sha256, entry.digest), []).append(entry)
    return [
        ApprovedBundle(tuple(e.lane for e in same), same[0], lock_path.parent / same[0].bundle)
        for same in groups.values()
    ]


def bundle_differences(approved: ApprovedBundle) -> tuple[PolicySet | None, list[Difference]]:
    """The bundle's policy set when it matches the lock, and every way it does not."""
    entry, lanes, path = approved.entry, approved.lanes, approved.path

    def diff(kind: str, expected: str | None, actual: str | None, detail: str = "") -> Difference:
        return Difference("bundle", lanes, kind, entry.bundle, expected, actual, detail)

    if not path.is_file():
        return None, [diff("bundle-missing", entry.sha256, None, f"{path} does not exist")]
    try:
        policy = read_bundle(path)
    except PolicyError as exc:
        sha256 = raw_digest(path.read_bytes())
        changed = [diff("sha256", entry.sha256, sha256)] if sha256 != entry.sha256 else []
        return None, [*changed, diff("bundle-unreadable", entry.digest, None, str(exc))]
    found = [
        diff(kind, want, got)
        for kind, want, got in (
            ("sha256", entry.sha256, policy.bundle_sha256),
            ("digest", entry.digest, policy.digest),
            ("revision", entry.revision, policy.revision),
            ("pack", entry.pack, policy.pack),
        )
        if want != got
    ]
    return (None if found else policy), found
