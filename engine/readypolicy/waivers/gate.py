"""Which waivers `eval` honours, and a warning naming each one it ignores and why.

With approver keys configured (`waiver_approvers`), a waiver is honoured only when it is a
governed waiver in state `approved`, not expired, within the lane's lifetime, and its approval
verifies against one of those keys and covers exactly the waiver as written, and the store's audit
chain records no revocation of its id (`revocations`: the file's `state` is not signed, so a
revocation written back to `approved` stays a revocation). A plain
`waivers.yaml` entry (no `id`, no signed approval) is then ignored. Without approver keys, the gate
cannot tell an approval from an edit: it still honours approved and plain waivers, so existing
setups keep working, but says loudly on every run that nothing vouches for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from readypolicy.canonical import parse_rfc3339
from readypolicy.config import Config
from readypolicy.policy.waivers import Waivers, check_entries, read_waiver_items
from readypolicy.store.interface import Store
from readypolicy.waivers import model
from readypolicy.waivers.revocations import Revocation, revocations_of

if TYPE_CHECKING:
    from readypolicy.signing import BundleVerifier

UNVERIFIED_WARNING = (
    "{path}: waiver_approvers is not configured, so {count} waiver(s) are honoured without a verified approval; "
    "list the approvers' public keys under waiver_approvers in readypolicy.yaml"
)


def approver_verifiers(keys: Sequence[Path]) -> list[tuple[str, BundleVerifier]]:
    """One verifier per configured approver public key (a missing or bad key file is an error: exit 2).

    The signing stack (sigstore, cryptography: about 0.3 s of imports) is imported here, not at module
    level, so an `eval` without approver keys or governed waivers does not pay for it.
    """
    from readypolicy.signing import key_verifier

    return [(str(key), key_verifier(key, origin=f"approval checked with {key.name}")) for key in keys]


def honoured_waivers(
    path: Path | None, now: str, lifetimes: Mapping[str, int] | None, approvers: Sequence[Path] | None, store: Store,
) -> Waivers:
    """The policy-input waivers eval may use at `now`, and one warning per waiver it ignores.

    `approvers` None (not configured) honours approved and plain waivers unverified, with a
    warning; a list (even empty) requires a verified approval for every waiver. A governed waiver
    whose id `store` records as revoked is ignored in either case, whatever its `state` says.
    """
    items = read_waiver_items(path)
    revoked = revocations_of(items, store)
    verifiers = approver_verifiers(approvers) if approvers is not None else None
    moment = parse_rfc3339(now)
    labelled: list[tuple[str, Any]] = []
    warnings: list[str] = []
    for index, item in enumerate(items, start=1):
        if not model.is_governed(item):
            if verifiers is not None:
                warnings.append(f"{path}: waiver #{index} ignored: a plain waiver has no signed approval and "
                                "waiver_approvers is configured (use readypolicy waiver request/approve)")
            elif isinstance(item, Mapping):
                # Only a verified approval may name a key; a plain entry claiming one loses the claim.
                labelled.append((f"{path}: waiver #{index}", {k: v for k, v in item.items() if k != "approved_key"}))
            else:
                labelled.append((f"{path}: waiver #{index}", item))
            continue
        label = f"{path}: waiver {str(item['id'])[:80]}"
        refusal, entries = _governed(item, moment, verifiers, revoked.get(str(item["id"])))
        if refusal:
            warnings.append(f"{label} ignored: {refusal}")
            continue
        labelled.extend((f"{label} (lane {entry['lane']})", entry) for entry in entries)
    checked = check_entries(labelled, now, lifetimes)
    if verifiers is None and labelled:
        warnings.insert(0, UNVERIFIED_WARNING.format(path=path, count=len(labelled)))
    return Waivers(checked.entries, (*warnings, *checked.warnings))


def _governed(
    item: Mapping[str, Any], moment: Any, verifiers: Sequence[tuple[str, BundleVerifier]] | None,
    revocation: Revocation | None,
) -> tuple[str | None, list[dict[str, Any]]]:
    """(why it is ignored, None) or (None, its policy entries)."""
    if revocation is not None:
        written = item.get("state")
        return revocation.describe() + ("" if written == "revoked" else f"; the waiver file says state {written!r}"), []
    problem = model.problem(item)
    if problem:
        return problem, []
    state = model.state_at(item, moment)
    if state != "approved":
        detail = {"requested": "it is requested, not approved", "revoked": f"it was revoked by {item.get('revoked_by')}",
                  "expired": f"it expired {item['expires']}"}[state]
        return detail, []
    if verifiers is None:
        return None, model.policy_entries(item, None)
    from readypolicy.waivers.approval import verify_approval  # the signing stack, only for a governed waiver

    key, why = verify_approval(item, item.get("approval"), verifiers)
    if key is None:
        return why, []
    return None, model.policy_entries(item, key)


def configured_waivers(config: Config, store: Store, now: str, lifetimes: Mapping[str, int] | None) -> Waivers:
    """`honoured_waivers` for the configured waiver file and approver keys (paths resolved against the root).

    `store` is the one whose audit chain records revocations: the gate's own store.
    """
    approvers = None if config.waiver_approvers is None else [config.path(key) for key in config.waiver_approvers]
    return honoured_waivers(config.path(config.waivers), now, lifetimes, approvers, store)
