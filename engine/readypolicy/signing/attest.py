"""Sign a decision record and verify it later against the decision file itself.

Verification answers the auditor's question in one call: was *this* decision file, byte for byte
after canonicalization, signed by *that* key or identity? The signed predicate must equal the
decision (or, for a VSA, the summary rebuilt from it), and the decision's own `decision_id` must
match its content. Failures name what changed, because "invalid signature" alone sends an auditor
hunting through three files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from readypolicy.canonical import digest, rfc3339
from readypolicy.safeio import UnsafeInputError, loads_json, read_limited
from readypolicy.signing.dsse import decode_statement
from readypolicy.signing.interface import (
    BundleVerifier,
    SignatureMismatchError,
    Signer,
    SigningError,
    VerifiedStatement,
)
from readypolicy.signing.intoto import (
    DECISION_BINDING,
    DECISION_PREDICATE_TYPE,
    VSA_PREDICATE_TYPE,
    decision_statement,
    expected_predicate,
    sha256_hex,
    vsa_statement,
)

BUNDLE_SUFFIX = ".sigstore.json"
MAX_DECISION_BYTES = 16 * 1024 * 1024
_MAX_REPORTED_PATHS = 5


@dataclass(frozen=True)
class VerifiedDecision:
    """A decision whose signed attestation verified and matches the decision file."""

    verified: VerifiedStatement
    """The verified statement and signer facts."""
    decision: dict[str, Any]
    """The decision record, equal (canonically) to what was signed."""
    kind: str
    """`decision` for the full decision attestation, `vsa` for the SLSA verification summary."""
    subject_name: str
    """Name of the statement's first subject (the module, or `<module>.decision.json`)."""
    subject_digest: str
    """`sha256:<hex>` of that subject: the module artifact or the canonical decision."""


def read_decision(path: Path) -> dict[str, Any]:
    """Read a decision record with the limits every untrusted JSON input gets."""
    try:
        value = loads_json(read_limited(path, MAX_DECISION_BYTES), str(path))
    except UnsafeInputError as exc:
        raise SigningError(str(exc)) from exc
    if not isinstance(value, dict):
        raise SigningError(f"{path}: a decision record must be a JSON object")
    return value


def default_bundle_path(decision_path: Path) -> Path:
    """`DECISION.sigstore.json` next to the decision file (`payments.json` -> `payments.sigstore.json`)."""
    return decision_path.with_name(decision_path.stem + BUNDLE_SUFFIX)


def vsa_bundle_path(bundle_path: Path) -> Path:
    """Where the VSA bundle goes beside a decision bundle: `X.sigstore.json` -> `X.vsa.sigstore.json`."""
    name = bundle_path.name
    stem = name[: -len(BUNDLE_SUFFIX)] if name.endswith(BUNDLE_SUFFIX) else bundle_path.stem
    return bundle_path.with_name(stem + ".vsa" + BUNDLE_SUFFIX)


def check_decision_id(decision: Mapping[str, Any], origin: str = "decision") -> None:
    """A recorded decision_id must be the digest of the record without it (it names the content)."""
    recorded = decision.get("decision_id")
    if recorded is None:
        return
    actual = digest({key: value for key, value in decision.items() if key != "decision_id"})
    if recorded != actual:
        raise SigningError(
            f"{origin}: decision_id {recorded} does not match the record's content ({actual}); "
            "the record was edited after it was made"
        )


def sign_decision(
    decision: Mapping[str, Any], signer: Signer, subject_digest: str | None = None, vsa: bool = False
) -> dict[str, Any]:
    """Sign the decision attestation (or, with `vsa`, its SLSA VSA); returns the Sigstore bundle."""
    check_decision_id(decision)
    build = vsa_statement if vsa else decision_statement
    return signer.sign_statement(build(decision, subject_digest))


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """JSON paths at which two values differ, deepest first-found, e.g. `checks[0].status`."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found: list[str] = []
        for key in sorted(set(expected) | set(actual)):
            sub = f"{path}.{key}" if path else key
            if key not in expected or key not in actual:
                found.append(sub)
            else:
                found.extend(differences(expected[key], actual[key], sub))
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        found = []
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            found.extend(differences(left, right, f"{path}[{index}]"))
        return found
    if digest(expected) != digest(actual):
        return [path or "(whole value)"]
    return []


def _listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:_MAX_REPORTED_PATHS])
    more = len(paths) - _MAX_REPORTED_PATHS
    return shown + (f" and {more} more" if more > 0 else "")


def _subject(statement: dict[str, Any], decision: Mapping[str, Any], origin: str) -> tuple[str, str]:
    """The first subject, which must be the canonical decision itself or the decision's module."""
    first = statement["subject"][0]
    if not isinstance(first, dict) or not isinstance(first.get("digest"), dict):
        raise SigningError(f"{origin}: statement subject is malformed")
    name = str(first.get("name"))
    subject_digest = "sha256:" + str(first["digest"].get("sha256"))
    sha256_hex(subject_digest, f"{origin}: statement subject digest")
    module = (decision.get("subject") or {}).get("module")
    if subject_digest != digest(decision) and name != module:
        raise SigningError(
            f"{origin}: statement subject {name} {subject_digest} is neither this decision "
            f"nor an artifact of module {module!r}"
        )
    return name, subject_digest


def _diagnose(decision: Mapping[str, Any], payload: bytes) -> str:
    """Explain a failed signature by comparing the (untrusted) payload with the decision."""
    try:
        statement = decode_statement(payload, "payload")
        predicate = expected_predicate(decision, statement["predicateType"])
    except SigningError:
        return "the signed statement was altered (it no longer parses as this decision's attestation)"
    changed = differences(predicate, statement.get("predicate"), "predicate")
    if changed:
        return f"the signed statement was altered at {_listed(changed)}"
    try:
        _subject(statement, decision, "payload")
    except SigningError:
        return "the signed statement's subject was altered"
    return "the statement matches the decision, so the signature bytes were altered or another key signed"


def check_vouched(decision: Mapping[str, Any], predicate: Any, origin: str) -> None:
    """A verified VSA must name this very record (by canonical digest) as the one it vouches for.

    The summary fields match many records: any edit outside them (a check message, `input_digest`,
    the waivers) with `decision_id` recomputed would rebuild the same summary. A VSA that names no
    record (signed before readypolicy bound it) vouches for no file and is refused.
    """
    bound = predicate.get(DECISION_BINDING) if isinstance(predicate, dict) else None
    signed = bound.get("digest") if isinstance(bound, dict) else None
    if not isinstance(signed, dict) or not isinstance(signed.get("sha256"), str):
        raise SigningError(
            f"{origin}: the VSA names no decision record it vouches for (no {DECISION_BINDING} field), "
            "so it cannot vouch for this file; verify the decision bundle instead"
        )
    actual = digest(decision)
    if "sha256:" + signed["sha256"] != actual:
        raise SigningError(
            f"{origin}: is not the decision record the VSA vouches for: the VSA binds sha256:{signed['sha256']}, "
            f"this file is {actual}; the record was edited after signing or belongs to another VSA"
        )


def verify_decision(
    decision: dict[str, Any], bundle: dict[str, Any], verifier: BundleVerifier, origin: str = "decision"
) -> VerifiedDecision:
    """Verify `bundle` with `verifier` and prove its predicate is exactly this `decision` (or a VSA that names it)."""
    try:
        verified = verifier.verify_bundle(bundle)
    except SignatureMismatchError as exc:
        raise SigningError(f"{exc}: {_diagnose(decision, exc.unverified_payload)}") from exc
    statement = verified.statement
    predicate_type = statement["predicateType"]
    if predicate_type == VSA_PREDICATE_TYPE:
        check_vouched(decision, statement.get("predicate"), origin)
    changed = differences(expected_predicate(decision, predicate_type), statement.get("predicate"))
    if changed:
        raise SigningError(f"{origin}: differs from the signed decision at {_listed(changed)}")
    check_decision_id(decision, origin)
    name, subject_digest = _subject(statement, decision, origin)
    return VerifiedDecision(
        verified=verified,
        decision=decision,
        kind="decision" if predicate_type == DECISION_PREDICATE_TYPE else "vsa",
        subject_name=name,
        subject_digest=subject_digest,
    )


EXPECTABLE = {
    "module": ("subject", "module"),
    "lane": ("lane",),
    "revision": ("subject", "revision"),
    "pack": ("pack",),
}
"""What a verifier can say it expects of a decision (`verify --module/--lane/--revision/--pack`), and where it is."""


def unexpected(decision: Mapping[str, Any], expected: dict[str, str | None], require_allow: bool = False) -> list[str]:
    """How a verified decision differs from what the verifier promotes: one line per field, both values named.

    A valid signature only says who decided; a signed decision for another lane, module or an older
    revision is still valid, so a verifier states what it is promoting and anything else is refused.
    """
    problems: list[str] = []
    for field, wanted in expected.items():
        if wanted is None:
            continue
        actual: Any = decision
        for key in EXPECTABLE[field]:
            actual = actual.get(key) if isinstance(actual, dict) else None
        if actual != wanted:
            problems.append(f"{field} is {actual!r} in the signed decision, expected {wanted!r}")
    if require_allow and decision.get("allow") is not True:
        problems.append("the signed decision is a deny (allow is not true), and --require-allow was given")
    return problems


def waived_lines(decision: Mapping[str, Any]) -> list[str]:
    """One line per check that passed only because a waiver covered it: check, approver, expiry, reason."""
    lines = []
    for check in decision.get("checks") or []:
        if not isinstance(check, dict) or check.get("status") != "waived":
            continue
        waiver = found if isinstance(found := check.get("waiver"), dict) else {}
        lines.append(
            f"  waived:   {check.get('id')} by {waiver.get('approver')} until {waiver.get('expires')}"
            f" ({waiver.get('reason')})"
        )
    return lines


def summary_lines(result: VerifiedDecision) -> list[str]:
    """Who signed what, when, for which module, lane and policy: what an auditor reads first."""
    decision = result.decision
    subject = decision.get("subject") or {}
    policy = decision.get("policy") or {}
    verified = result.verified
    # Only a time a third party countersigned is called trusted; evaluated_at is whatever the key holder wrote.
    when = (
        f"{rfc3339(verified.signed_at)} trusted ({verified.time_source})"
        if verified.signed_at and verified.time_source
        else f"{decision.get('evaluated_at')} claimed by the signer (evaluated_at)"
    )
    verdict = "allow" if decision.get("allow") is True else "deny"
    return [
        f"verified {result.kind} attestation: {verdict} for lane {decision.get('lane')}",
        f"  signer:   {verified.signer}",
        f"  signed:   {when}",
        f"  module:   {subject.get('module')} @ {subject.get('revision')}",
        f"  subject:  {result.subject_name} {result.subject_digest}",
        *([f"  vouches:  decision record {digest(decision)} (this file)"] if result.kind == "vsa" else []),
        f"  pack:     {decision.get('pack')}",
        f"  policy:   {policy.get('source')} {policy.get('revision')} ({policy.get('digest')})",
        f"  decision: {decision.get('decision_id')}",
        *(waived_lines(decision) or ["  waived:   none"]),
    ]
