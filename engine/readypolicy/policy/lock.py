"""The bundle lock: which built bundle is approved to decide each lane of each pack.

`bundles/lock.json` pins, per pack and lane, the bundle file, its revision, the sha256 of the
tarball and the digest of the policy inside. `eval --locked` evaluates exactly that tarball and
refuses one whose bytes changed, so what decides a lane is what someone approved. Approvals are
serialized with an exclusive lock on the bundles directory, written atomically, and each one is
audited before the file changes: no approval can exist that the audit log does not show. With
policy_approvers configured, that audit log is also the anchor against rollback: a lock entry
decides only while it is the newest signed approval the log recorded for its lane (`check_newest`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from readypolicy.canonical import digest
from readypolicy.policy.approval import (
    Approval,
    approval_path,
    approval_statement,
    check_approval,
    verified_approval,
    write_approval,
)
from readypolicy.policy.bundle_read import read_bundle
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.safeio import UnsafeInputError, exclusive_directory, loads_json, read_limited, write_atomic
from readypolicy.store.copy import origin
from readypolicy.store.interface import AuditEntry, Store

if TYPE_CHECKING:
    from readypolicy.signing import Signer

LOCK_SCHEMA = "https://readypolicy.dev/lock/v1"
LOCK_NAME = "lock.json"


class LockError(PolicyError):
    """The lock file is unreadable, has no entry for a lane, or disagrees with a bundle file."""


@dataclass(frozen=True)
class LockEntry:
    """One approved bundle for one lane of one pack."""

    pack: str
    """Pack name."""
    lane: str
    """Lane the bundle is approved for."""
    bundle: str
    """Bundle file name, relative to the lock's directory."""
    revision: str
    """Bundle revision (`<version>+<digest prefix>`)."""
    sha256: str
    """`sha256:` of the tarball bytes."""
    digest: str
    """Policy digest of the files inside the bundle."""
    approved_by: str
    """Actor who approved it."""
    approved_at: str
    """UTC RFC 3339 time of the approval."""


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking one lock entry against the bundle file on disk."""

    entry: LockEntry
    """The entry checked."""
    problem: str | None
    """What is wrong, or None when the file matches the lock."""


def read_lock(path: Path) -> dict[str, dict[str, LockEntry]]:
    """Pack → lane → entry; a missing lock file is an empty lock."""
    if not path.exists():
        return {}
    try:
        doc = loads_json(read_limited(path, 4 * 1024 * 1024), str(path))
    except UnsafeInputError as exc:
        raise LockError(str(exc)) from exc
    if not isinstance(doc, dict) or doc.get("schema") != LOCK_SCHEMA or not isinstance(doc.get("packs"), dict):
        raise LockError(f"{path}: not a readypolicy lock file (expected schema {LOCK_SCHEMA})")
    out: dict[str, dict[str, LockEntry]] = {}
    for pack, lanes in doc["packs"].items():
        for lane, entry in dict(lanes).items():
            try:
                out.setdefault(pack, {})[lane] = LockEntry(pack=pack, lane=lane, **entry)
            except TypeError as exc:
                raise LockError(f"{path}: entry {pack}/{lane} is malformed: {exc}") from exc
    return out


def _lock_document(entries: dict[str, dict[str, LockEntry]]) -> dict[str, Any]:
    packs = {
        pack: {lane: {k: v for k, v in asdict(e).items() if k not in ("pack", "lane")} for lane, e in sorted(lanes.items())}
        for pack, lanes in sorted(entries.items())
    }
    return {"schema": LOCK_SCHEMA, "packs": packs}


@dataclass(frozen=True)
class Approved:
    """What `approve` did: the lock entries written and, when signed, every lane the signed statement names."""

    entries: list[LockEntry]
    """The entries pinned in the lock (one per lane asked for)."""
    signed_lanes: tuple[str, ...]
    """Lanes the signed approval names (empty when unsigned)."""


def approve(
    lock_path: Path, bundle: Path, lanes: Sequence[str], *, actor: str, now: str, store: Store,
    signer: Signer | None = None, approvers: Sequence[Path] | None = None,
) -> Approved:
    """Pin `bundle` for `lanes` of its pack; the bundle must verify and sit beside the lock file.

    With a `signer`, the approval is also signed (`policy.approval`) and written before the lock
    changes. The statement names the lanes asked for plus those an existing approval of the same
    bytes already names, if that approval verifies against one of `approvers` (policy_approvers).
    Lanes are never read from lock.json: anyone can edit it, and a lane planted there would be signed
    by an approver who asked for another. The `lock` audit entry records the signed statement's
    digest: `locked_policy` accepts a lock entry only when it is the newest signed approval there.
    """
    directory = lock_path.parent.resolve()
    if bundle.resolve().parent != directory:
        raise LockError(f"{bundle}: approve bundles that live in {directory} (the lock names them relative to it)")
    policy = read_bundle(bundle)
    unknown = [lane for lane in lanes if lane not in policy.lanes]
    if unknown or not lanes:
        raise LockError(f"{bundle}: pack {policy.pack!r} has no lane {', '.join(unknown) or '(none given)'}")
    entries = [
        LockEntry(
            pack=policy.pack, lane=lane, bundle=bundle.name, revision=policy.revision, sha256=str(policy.bundle_sha256),
            digest=policy.digest, approved_by=actor, approved_at=now,
        )
        for lane in lanes
    ]
    signed: dict[str, Any] = {}
    with exclusive_directory(directory):
        current = read_lock(lock_path)
        if signer is not None:
            signed_lanes = sorted(set(lanes) | set(_verified_lanes(bundle, policy, approvers)))
            statement = approval_statement(
                bundle=bundle.name, sha256=str(policy.bundle_sha256), pack=policy.pack, lanes=signed_lanes,
                revision=policy.revision, digest=policy.digest, approver=actor, approved_at=now,
            )
            write_approval(bundle, statement, signer)
            signed = {"signed_approval": approval_path(bundle).name, "signed_lanes": signed_lanes,
                      "signed_statement": digest(statement)}
        store.append_audit(actor, "lock", None, {
            "lock": str(lock_path), "pack": policy.pack, "lanes": list(lanes), "bundle": bundle.name,
            "revision": policy.revision, "sha256": policy.bundle_sha256, "digest": policy.digest,
            "replaces": {lane: asdict(current[policy.pack][lane]) for lane in lanes if lane in current.get(policy.pack, {})},
            **signed,
        })
        for entry in entries:
            current.setdefault(policy.pack, {})[entry.lane] = entry
        write_atomic(lock_path, json.dumps(_lock_document(current), indent=2, sort_keys=True) + "\n", durable=True)
    return Approved(entries, tuple(signed.get("signed_lanes", ())))


def _verified_lanes(bundle: Path, policy: PolicySet, approvers: Sequence[Path] | None) -> tuple[str, ...]:
    """Lanes an existing signed approval of these exact bytes names, if it verifies against an approver key."""
    if not approvers or not approval_path(bundle).is_file():
        return ()
    try:
        return verified_approval(bundle, sha256=str(policy.bundle_sha256), pack=policy.pack, digest=policy.digest,
                                 approvers=approvers).lanes
    except PolicyError:  # an approval that does not verify vouches for nothing; the new one replaces it
        return ()


def locked_policy(
    lock_path: Path, pack: str, lane: str, approvers: Sequence[Path] | None, store: Store,
) -> PolicySet:
    """The approved bundle of a lane, refused unless its bytes still match the lock.

    With `approvers` (the configured `policy_approvers` keys), also refused unless a signed approval
    by one of them covers these bytes for this lane, and (`check_newest`) the store's audit log shows
    that approval as the newest one signed for the lane: the lock file alone is anyone's word, and a
    signed approval never expires, so an old lock.json restored from history would otherwise bring
    back a bundle the approver replaced.
    """
    entry = read_lock(lock_path).get(pack, {}).get(lane)
    if entry is None:
        raise LockError(f"{lock_path}: no approved bundle for pack {pack!r} lane {lane!r}; run `readypolicy policy approve`")
    policy = _checked_bundle(lock_path, entry)
    if approvers is not None:
        approval = check_approval(lock_path.parent / entry.bundle, sha256=entry.sha256, pack=entry.pack,
                                  digest=entry.digest, lane=lane, approvers=approvers)
        check_newest(lock_path, entry, approval, store)
    return policy


def check_newest(lock_path: Path, entry: LockEntry, approval: Approval, store: Store) -> None:
    """Refuse a lock entry that is not the newest signed approval of its pack and lane in the store's audit log.

    The anchor is the store's hash-chained `lock` audit entries, which someone who can edit the
    repository (lock.json, bundles/) cannot rewrite: the newest entry written with a signed approval
    for this pack and lane must name these bundle bytes, and the newest signed entry for these bytes
    must record the statement that verified (`approval`), so an older approval file restored beside
    the bundle is refused too. Unsigned `lock` entries do not move the anchor. A store with no signed
    entry for the lane (a fresh store) cannot tell, so the entry is refused.

    "Newest" must be the same entry by chain position and by the time each approval was first
    logged (`store.copy.origin`): `store copy` appends another store's older approvals after this
    store's newer ones, so chain order alone would make a replaced approval current again, and
    times alone come from different writers' clocks. When the two disagree nothing can tell which
    approval is current, and the entry is refused until the approver approves again.
    """
    signed = [audit for audit in store.audit_entries(action="lock")
              if audit.details.get("pack") == entry.pack and audit.details.get("signed_statement")]
    where = f"{lock_path}: {entry.pack}/{entry.lane}"
    lane = _newest([audit for audit in signed if entry.lane in (audit.details.get("lanes") or [])],
                   lambda details: (details.get("bundle"), details.get("sha256")), where)
    if lane is None:
        raise LockError(f"{where}: the store {store.url} records no signed approval of this lane in its audit log, "
                        "so it cannot tell whether the lock is current; approve with `readypolicy policy approve "
                        "--key` against this store")
    if (lane.details.get("bundle"), lane.details.get("sha256")) != (entry.bundle, entry.sha256):
        raise LockError(f"{where}: the lock names {entry.bundle} ({entry.revision}), but the newest signed approval in "
                        f"the audit log (entry {lane.seq}, {origin(lane)['at']}) is {lane.details.get('bundle')} "
                        f"({lane.details.get('revision')}): the lock was rolled back or edited")
    same_bytes = _newest([audit for audit in signed if audit.details.get("sha256") == entry.sha256],
                         lambda details: details.get("signed_statement"), where)
    if same_bytes is None or same_bytes.details.get("signed_statement") != approval.statement_digest:
        raise LockError(f"{where}: the signed approval beside {entry.bundle} is not the one the audit log recorded "
                        "last for these bytes: an older approval file was restored")


def _newest(entries: list[AuditEntry], fact: Callable[[dict[str, Any]], Any], where: str) -> AuditEntry | None:
    """The newest entry, when chain position and first-logged time agree on the `fact` it records."""
    if not entries:
        return None
    by_chain = entries[-1]
    by_time = max(entries, key=lambda audit: (str(origin(audit)["at"]), audit.seq))
    if fact(by_chain.details) != fact(by_time.details):
        raise LockError(f"{where}: the audit log cannot tell which signed approval is newest: entry {by_chain.seq} is "
                        f"last in the chain but entry {by_time.seq} was logged later ({origin(by_time)['at']}), and "
                        "they differ (a store copy merged an older approval after a newer one, or the writers' clocks "
                        "disagree); approve the bundle again with `readypolicy policy approve --key`")
    return by_chain


def _checked_bundle(lock_path: Path, entry: LockEntry) -> PolicySet:
    """Read an entry's bundle; the sha256 compared is of the bytes actually read, not of an earlier look."""
    path = lock_path.parent / entry.bundle
    where = f"{lock_path}: {entry.pack}/{entry.lane}"
    try:
        policy = read_bundle(path)
    except PolicyError as exc:
        raise LockError(f"{where}: {exc}") from exc
    if policy.bundle_sha256 != entry.sha256:
        raise LockError(f"{where}: bundle {path} has sha256 {policy.bundle_sha256}, the lock approved {entry.sha256}")
    if policy.digest != entry.digest or policy.pack != entry.pack:
        raise LockError(
            f"{where}: bundle {path} holds {policy.pack} {policy.digest}, the lock approved {entry.pack} {entry.digest}"
        )
    return policy


def verify(lock_path: Path) -> list[VerifyResult]:
    """Every lock entry checked against its bundle file."""
    if not lock_path.is_file():
        raise LockError(f"{lock_path}: no lock file; run `readypolicy policy approve` first")
    results: list[VerifyResult] = []
    for lanes in read_lock(lock_path).values():
        for entry in lanes.values():
            try:
                _checked_bundle(lock_path, entry)
                results.append(VerifyResult(entry, None))
            except LockError as exc:
                results.append(VerifyResult(entry, str(exc).removeprefix(f"{lock_path}: {entry.pack}/{entry.lane}: ")))
    return results
