"""The central shapes readypolicy passes around, as types a checker can hold the code to.

Four JSON documents cross every layer: the evidence envelope (what ingest stores), the policy input
(what OPA sees), the check result (what a lane policy returns per check) and the decision record
(what is stored, reported and signed). Each is written once here, next to the JSON Schema that is
its public contract, so a misspelt key or a wrong type is a `mypy` error instead of a wrong verdict.

They are TypedDicts, not classes: at runtime they are the plain dicts the code always built, so the
canonical JSON (and every digest over it) is byte for byte what it was. Values read back from a
store, an archive or a policy are checked where they enter (`result_check`, `evidence_problem`);
these types state what holds after those checks. This module imports nothing of readypolicy, so
every layer may use it.
"""

# No `from __future__ import annotations` here: TypedDict reads `NotRequired` from evaluated annotations, and
# with postponed ones Python 3.11 would list every key as required in `__required_keys__`.
from typing import Any, Literal, NotRequired, TypedDict

Status = Literal["pass", "fail", "missing", "waived", "warn"]
"""A check's outcome (result.schema.json `status`)."""
Severity = Literal["critical", "high", "medium", "low", "info"]
"""How much a failing check matters (result.schema.json `severity`)."""
Enforcement = Literal["blocking", "advisory"]
"""Whether a failing check blocks the lane or only warns (result.schema.json `enforcement`)."""


class Producer(TypedDict):
    """The tool that wrote an artifact (evidence.v1.json `producer`)."""

    tool: str
    version: str | None


class EvidenceDocument(TypedDict):
    """The evidence envelope (evidence/schemas/evidence.v1.json): a normalized artifact as stored.

    `data` is the kind's own document, validated by `schemas/<kind>.v<N>.json`.
    """

    schema: str
    kind: str
    schema_version: int
    format: str
    module: str
    revision: str
    scope: str
    producer: Producer
    collected_at: str | None
    raw_sha256: str
    data: dict[str, Any]


class InputEvidence(TypedDict):
    """What a policy sees of one evidence document (policy-input.schema.json `evidence.*[]`)."""

    digest: str
    scope: str
    format: str
    producer: Producer
    collected_at: str | None
    data: dict[str, Any]


class PolicyInput(TypedDict):
    """The `input` a lane policy is evaluated with (decision/policy-input.schema.json).

    Its canonical JSON's digest is a record's `input_digest`, so nothing here may change shape
    without a new schema version.
    """

    module: str
    revision: str
    lane: str
    now: str
    manifest: dict[str, Any] | None
    evidence: dict[str, list[InputEvidence]]
    waivers: list[dict[str, Any]]


class CheckResult(TypedDict):
    """One check as a lane policy returns it (decision/result.schema.json `checks[]`)."""

    id: str
    title: str
    status: Status
    severity: Severity
    message: str
    evidence: list[str]
    remediation: NotRequired[str]
    needs: NotRequired[list[str]]
    waiver: NotRequired[dict[str, Any]]
    enforcement: NotRequired[Enforcement]
    enforce_from: NotRequired[str]


class PolicyResult(TypedDict):
    """A lane policy's `decision` once `result_check` found it well-formed (decision/result.schema.json)."""

    allow: bool
    checks: list[CheckResult]
    lane: NotRequired[str]
    summary: NotRequired[dict[str, Any]]


class RecordSubject(TypedDict):
    """The module revision a decision is about."""

    module: str
    revision: str


class RecordPolicy(TypedDict):
    """The policy that decided, exactly (record.schema.json `policy`)."""

    source: str
    pack: str
    revision: str
    digest: str
    bundle_sha256: str | None
    files: dict[str, str]


class RecordEvidence(TypedDict):
    """One evidence document a decision used (record.schema.json `evidence[]`)."""

    kind: str
    scope: str
    digest: str
    raw_sha256: str


class RecordEngine(TypedDict):
    """The engine that evaluated the policy."""

    name: str
    version: str


class RecordContent(TypedDict):
    """A decision record without its id: what `decision_id` is the digest of."""

    schema: str
    subject: RecordSubject
    lane: str
    pack: str
    allow: bool
    checks: list[CheckResult]
    summary: dict[str, int]
    policy: RecordPolicy
    evidence: list[RecordEvidence]
    waivers: list[dict[str, Any]]
    engine: RecordEngine
    evaluated_at: str
    input_digest: str


class DecisionRecord(RecordContent):
    """A decision record (decision/record.schema.json, `schema` https://readypolicy.dev/decision/v1).

    `decision_id` is the digest of the canonical JSON of the `RecordContent` (every other field).
    """

    decision_id: str
