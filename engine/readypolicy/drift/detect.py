"""Run the drift checks a request asks for and gather one report.

Source-vs-bundle and bundle-vs-lock always run (they are local and cheap); the server, recorded
decisions and golden cases run on request. Checks that compare against "the approved policy" use
only a bundle that still matches its lock entry: a bundle that does not is itself the drift, and
comparing against it would report the tampering twice under other names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from readypolicy.drift.bundle_file import ApprovedBundle, bundle_differences, group_entries
from readypolicy.drift.decisions import decision_differences
from readypolicy.drift.golden import golden_differences, pack_cases
from readypolicy.drift.interface import Difference, DriftError, DriftReport
from readypolicy.drift.server import OpaServerReader, server_differences
from readypolicy.drift.source import source_differences
from readypolicy.policy.approval import check_approval
from readypolicy.policy.interface import PolicyError, PolicySet
from readypolicy.policy.lock import LOCK_NAME, LockEntry, check_newest, read_lock
from readypolicy.policy.pack import load_pack, pack_dir
from readypolicy.store.interface import Store
from readypolicy.wiring import Wiring


@dataclass(frozen=True)
class DriftRequest:
    """Which checks to run, for which lanes."""

    pack: str
    """Pack whose lock entries are compared."""
    lanes: tuple[str, ...] = ()
    """Lanes to check; empty means every lane the lock approves (and every configured lane for decisions)."""
    server: str | None = None
    """URL of a running OPA server to compare, if any."""
    decisions: bool = False
    """Scan recorded decisions."""
    since: str | None = None
    """UTC RFC 3339 start of the decision window; None means each lane's approval time."""
    golden: bool = False
    """Re-run the pack's golden cases against the approved bundles."""


def _entries(rt: Wiring, request: DriftRequest) -> dict[str, LockEntry]:
    lock_path = rt.config.path(rt.config.bundles) / LOCK_NAME
    if not lock_path.is_file():
        raise DriftError(f"{lock_path}: no lock file; nothing is approved to compare with (run `readypolicy policy approve`)")
    entries = read_lock(lock_path).get(request.pack, {})
    if not entries:
        raise DriftError(f"{lock_path}: no approved bundle for pack {request.pack!r}")
    return entries


def _server_target(groups: list[ApprovedBundle], reader: OpaServerReader) -> ApprovedBundle:
    """The approved bundle the server should run: the only one, or the one whose revision it reports."""
    if len(groups) == 1:
        return groups[0]
    revisions = {b.revision for b in reader.bundles()}
    matching = [g for g in groups if g.entry.revision in revisions]
    if len(matching) == 1:
        return matching[0]
    lanes = ", ".join(f"{'/'.join(g.lanes)}: {g.entry.revision}" for g in groups)
    raise DriftError(f"the lock approves different bundles per lane ({lanes}); pass --lane to say which one {reader.url} serves")


def _approval_difference(group: ApprovedBundle, approvers: list[Path], store: Store, lock_path: Path) -> list[Difference]:
    """The bundle's missing, failing or superseded signed approval for any of its lanes (policy_approvers is set)."""
    entry = group.entry
    for lane in group.lanes:
        try:
            approval = check_approval(group.path, sha256=entry.sha256, pack=entry.pack, digest=entry.digest, lane=lane,
                                      approvers=approvers)
            check_newest(lock_path, replace(entry, lane=lane), approval, store)
        except PolicyError as exc:
            return [Difference("bundle", group.lanes, "approval", entry.bundle, "signed by a policy approver", None,
                               str(exc))]
    return []


def detect(rt: Wiring, request: DriftRequest) -> DriftReport:
    """Every requested comparison, in a fixed order: bundle, source, server, decisions, golden."""
    entries = _entries(rt, request)
    unknown = [lane for lane in request.lanes if lane not in entries and not request.decisions]
    if unknown:
        raise DriftError(f"pack {request.pack!r} has no approved bundle for lane(s) {', '.join(unknown)}")
    lock_path = rt.config.path(rt.config.bundles) / LOCK_NAME
    chosen = [entries[lane] for lane in (request.lanes or tuple(entries)) if lane in entries]
    groups = group_entries(lock_path, chosen)
    checked: list[str] = []
    found: list[Difference] = []
    approved: dict[ApprovedBundle, PolicySet] = {}
    approvers = rt.config.policy_approver_keys()
    for group in groups:
        policy, differences = bundle_differences(group)
        checked.append(f"bundle {group.entry.bundle} vs lock ({', '.join(group.lanes)})")
        found.extend(differences)
        if policy is not None and approvers is not None:
            checked.append(f"signed approval of {group.entry.bundle} ({', '.join(group.lanes)})")
            unsigned = _approval_difference(group, approvers, rt.store, lock_path)
            found.extend(unsigned)
            policy = None if unsigned else policy
        if policy is not None:
            approved[group] = policy
    opa = rt.opa()
    source = load_pack(pack_dir(rt.config.path(rt.config.policies), request.pack, rt.config.root))
    for group in groups:
        if group in approved:
            checked.append(f"source {source.origin} vs {group.entry.bundle} ({', '.join(group.lanes)})")
            found.extend(source_differences(opa, source, approved[group], group.lanes))
        else:
            checked.append(f"source vs {group.entry.bundle}: skipped, the bundle does not match the lock")
    if request.server:
        reader = OpaServerReader(request.server, timeout_s=rt.config.opa_timeout_s)
        target = _server_target(groups, reader)
        if target in approved:
            checked.append(f"server {reader.url} vs {target.entry.bundle} ({', '.join(target.lanes)})")
            found.extend(server_differences(opa, reader, approved[target], target.lanes))
        else:
            checked.append(f"server {reader.url}: skipped, {target.entry.bundle} does not match the lock")
    if request.decisions:
        lanes = request.lanes or tuple(dict.fromkeys((*rt.lanes, *entries)))
        scan = decision_differences(rt.store, request.pack, lanes, entries, request.since)
        checked.extend(scan.checked)
        found.extend(scan.differences)
    if request.golden:
        policies = {lane: policy for group, policy in approved.items() for lane in group.lanes}
        cases = pack_cases(source.origin)
        wanted = [c for c in cases if not request.lanes or c.lane in request.lanes]
        run = golden_differences(wanted, policies, rt.engine(), rt.cache_dir)
        checked.extend(run.checked)
        found.extend(run.differences)
    return DriftReport(pack=request.pack, checked=tuple(checked), differences=tuple(found))
