"""Signed policy approvals: who approved which bundle bytes for which lanes of which pack.

`bundles/lock.json` is a plain file anyone with write access to the repository can edit. An
approval signed with the approver's key (`policy approve --key`) is an in-toto statement whose
subject is the bundle file and its sha256, and whose predicate names the pack, the lanes, the
policy digest, the approver and the time. It is kept beside the bundle
(`<bundle>.approval.sigstore.json`) and lists the lanes the approver named plus those an earlier
verified approval of the same bytes named, so it still vouches for the bundle when an old decision
is replayed. With `policy_approvers` configured, `eval --locked`, `drift` and `verify --replay`
accept a bundle only when such an approval verifies against one of those keys; because it never
expires, `eval --locked` and `drift` also require it to be the newest one the store's audit log
recorded for the lane (`policy.lock.check_newest`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from readypolicy.policy.interface import PolicyError, PolicySet

if TYPE_CHECKING:
    from readypolicy.signing import Signer

APPROVAL_PREDICATE_TYPE = "https://readypolicy.dev/attestation/policy-approval/v1"
APPROVAL_SUFFIX = ".approval.sigstore.json"


class ApprovalError(PolicyError):
    """A bundle has no signed approval, or it does not verify or does not cover what is used."""


def approval_path(bundle: Path) -> Path:
    """Where a bundle's signed approval lives: `<bundle file>.approval.sigstore.json` beside it."""
    return bundle.with_name(bundle.name + APPROVAL_SUFFIX)


def approval_statement(
    *, bundle: str, sha256: str, pack: str, lanes: Sequence[str], revision: str, digest: str, approver: str,
    approved_at: str,
) -> dict[str, Any]:
    """The in-toto Statement an approver signs: subject the bundle bytes, predicate what they approve them for."""
    from readypolicy.signing.dsse import STATEMENT_TYPE
    from readypolicy.signing.intoto import sha256_hex

    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": bundle, "digest": {"sha256": sha256_hex(sha256, f"{bundle} sha256")}}],
        "predicateType": APPROVAL_PREDICATE_TYPE,
        "predicate": {
            "pack": pack, "lanes": sorted(lanes), "bundle": bundle, "revision": revision, "digest": digest,
            "approver": approver, "approved_at": approved_at,
        },
    }


def write_approval(path: Path, statement: dict[str, Any], signer: Signer) -> None:
    """Sign the statement and write its Sigstore bundle atomically beside the policy bundle."""
    from readypolicy.signing import write_bundle

    write_bundle(signer.sign_statement(statement), approval_path(path))


@dataclass(frozen=True)
class Approval:
    """A signed approval that verified against a configured approver key and covers the bundle's bytes."""

    approver: str
    """Who approved, and the key that verified (`name (signer)`)."""
    lanes: tuple[str, ...]
    """Every lane the signed statement names."""
    statement_digest: str
    """`sha256:` over the canonical signed statement: what the `lock` audit entry of the signing records."""


def verified_approval(bundle: Path, *, sha256: str, pack: str, digest: str, approvers: Sequence[Path]) -> Approval:
    """The signed approval of `bundle`: the first configured key's statement covering exactly these bytes.

    Raises `ApprovalError` naming what is missing: the file, a configured signer, the bytes, the pack
    or the digest.
    """
    from readypolicy.canonical import digest as canonical_digest
    from readypolicy.signing import SigningError, key_verifier, read_bundle

    path = approval_path(bundle)
    if not approvers:
        raise ApprovalError(f"{bundle}: policy_approvers is configured but lists no key; nothing can approve a bundle")
    if not path.is_file():
        raise ApprovalError(f"{bundle}: no signed approval ({path.name}); approve it with "
                            "`readypolicy policy approve --key` by a key listed in policy_approvers")
    signed = read_bundle(path)
    refusals: list[str] = []
    for key in approvers:
        try:
            verified = key_verifier(key, str(path)).verify_bundle(signed)
        except SigningError as exc:
            refusals.append(f"{key.name}: {exc}".replace(f"{path}: ", ""))
            continue
        statement = verified.statement
        predicate = found if isinstance(found := statement.get("predicate"), dict) else {}
        subject = statement["subject"][0] if isinstance(statement["subject"][0], dict) else {}
        expected = {"sha256": sha256, "pack": pack, "digest": digest}
        actual = {"sha256": "sha256:" + str((subject.get("digest") or {}).get("sha256")),
                  "pack": predicate.get("pack"), "digest": predicate.get("digest")}
        if statement["predicateType"] != APPROVAL_PREDICATE_TYPE:
            raise ApprovalError(f"{path}: signed by {key.name}, but it is not a policy approval")
        for field, wanted in expected.items():
            if actual[field] != wanted:
                raise ApprovalError(f"{path}: the approval signed by {key.name} is for {field} {actual[field]}, "
                                    f"not {wanted} (the bundle changed after approval)")
        lanes = predicate.get("lanes")
        return Approval(approver=f"{predicate.get('approver')} ({verified.signer})",
                        lanes=tuple(str(lane) for lane in lanes) if isinstance(lanes, list) else (),
                        statement_digest=canonical_digest(statement))
    raise ApprovalError(f"{path}: the approval does not verify against any key in policy_approvers ("
                        + "; ".join(refusals)[:300] + ")")


def check_approval(
    bundle: Path, *, sha256: str, pack: str, digest: str, lane: str, approvers: Sequence[Path],
) -> Approval:
    """The signed approval of `bundle` for `lane` (`verified_approval`), refused unless it names the lane."""
    approval = verified_approval(bundle, sha256=sha256, pack=pack, digest=digest, approvers=approvers)
    if lane not in approval.lanes:
        raise ApprovalError(f"{approval_path(bundle)}: the approval signed by {approval.approver} covers lane(s) "
                            f"{', '.join(approval.lanes) or 'none'}, not {lane!r}")
    return approval


def approved_for_replay(policy: PolicySet, decision: Mapping[str, Any], approvers: Sequence[Path] | None) -> None:
    """With policy_approvers configured, replay only with a bundle an approver signed for the decision's lane.

    A replay that may use the source tree, or a bundle nobody approved, would "confirm" a decision with
    a policy the approvers never saw.
    """
    if approvers is None:
        return
    if policy.source != "bundle" or policy.bundle_sha256 is None:
        raise ApprovalError(f"{policy.origin}: policy_approvers is configured, so replay needs the approved bundle "
                            "(pass --policy-bundle), not the source tree")
    check_approval(policy.origin, sha256=policy.bundle_sha256, pack=policy.pack, digest=policy.digest,
                   lane=str(decision.get("lane")), approvers=approvers)
