"""Governance with the real OPA and real keys: signed waiver approvals, advisory checks, scheduled enforcement.

Each test is an attack on the gate (or the guard's positive case): a waiver nobody approved, one
approved with a key the project does not trust, one revoked or edited after approval, a rule that
calls a blocking check advisory. Expected statuses are read from the decision records the CLI
prints and from the waiver file with PyYAML, never from the code under test's own helpers.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as DET
import pytest
import yaml

from policy_project import Project, make_project
from readypolicy.canonical import parse_rfc3339, rfc3339, utc_now
from readypolicy.decision.enforcement import pack_enforcement
from readypolicy.engines.locate import find_opa
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_cli import OpaCliEngine
from readypolicy.evaluate import Subject, decide
from readypolicy.policy import stage
from readypolicy.policy.bundle_build import bundle_bytes
from readypolicy.policy.pack import load_pack
from readypolicy.replay import replay_decision
from readypolicy.report.html import HtmlFormat
from readypolicy.report.registry import get_format
from readypolicy.signing import generate_key_pair, key_signer, write_key_pair
from readypolicy.signing.intoto import vsa_predicate
from readypolicy.store.open import open_store
from readypolicy.waivers.approval import sign_approval

PASSWORD = "governance test passphrase"
ENV = {"READYPOLICY_KEY_PASSWORD": PASSWORD}
CHECK = "tests.unit"
"""Fails for payments@abc in candidate (the JUnit fixture has failing tests)."""
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Gov:
    """A project, its trusted approver key pair and a key pair nobody configured."""

    project: Project
    approver: Path
    rogue: Path

    @property
    def waivers(self) -> Path:
        return self.project.root / "waivers.yaml"

    def run(self, *args: str, actor: str = "alice") -> Any:
        return self.project.run(*args, env={**ENV, "READYPOLICY_ACTOR": actor})

    def request(self, waiver_id: str = "W-1", expires: str = "5d", check: str = CHECK) -> None:
        result = self.run("waiver", "request", "--check", check, "--module", "payments", "--lane", "candidate",
                          "--reason", "fixture tests flaky", "--link", "PAY-42", "--expires", expires, "--id", waiver_id)
        assert result.exit_code == 0, result.output

    def approve(self, waiver_id: str = "W-1", key: Path | None = None, actor: str = "bob") -> Any:
        return self.run("waiver", "approve", waiver_id, "--key", str(key or self.approver), actor=actor)

    def decide(self) -> tuple[dict[str, Any], dict[str, Any], str, int]:
        """(candidate record, its tests.unit check, stderr, exit code) of a recorded eval."""
        result = self.run("eval", "--module", "payments", "--lane", "candidate", "--format", "json", "--revision", "abc")
        assert result.exit_code in (0, 1), result.output
        record = json.loads(result.stdout)
        return record, _check(record, CHECK), result.stderr, result.exit_code

    def entries(self) -> list[dict[str, Any]]:
        return yaml.safe_load(self.waivers.read_text(encoding="utf-8"))["waivers"]

    def rewrite(self, entries: list[dict[str, Any]]) -> None:
        self.waivers.write_text(yaml.safe_dump({"waivers": entries}, sort_keys=False), encoding="utf-8")


def _check(record: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(c for c in record["checks"] if c["id"] == check_id)


def _keys(directory: Path, name: str) -> tuple[Path, Path]:
    pair = generate_key_pair(PASSWORD.encode())
    write_key_pair(pair, directory / f"{name}.key", directory / f"{name}.pub")
    return directory / f"{name}.key", directory / f"{name}.pub"


def _configure(project: Project, extra: str) -> None:
    with project.config.open("a", encoding="utf-8") as handle:
        handle.write(extra)


@pytest.fixture
def gov(tmp_path: Path) -> Gov:
    project = make_project(tmp_path)
    approver, approver_pub = _keys(tmp_path, "approver")
    rogue, _ = _keys(tmp_path, "rogue")
    _configure(project, f"waiver_approvers: [{approver_pub}]\n")
    return Gov(project, approver, rogue)


# Waivers: owner, approval, revocation


def test_approved_signed_waiver_is_honoured_and_counted_apart(gov: Gov) -> None:
    gov.request()
    assert gov.approve().exit_code == 0
    [entry] = gov.entries()
    assert (entry["state"], entry["requested_by"], entry["approved_by"]) == ("approved", "alice", "bob")
    record, check, stderr, _ = gov.decide()
    assert check["status"] == "waived"
    assert check["waiver"]["id"] == "W-1" and check["waiver"]["approver"] == "bob"
    assert check["waiver"]["approved_key"].startswith("key ")
    assert check["waiver"]["link"] == "PAY-42" and check["waiver"]["requested_by"] == "alice"
    assert record["summary"]["waived"] == 1
    assert record["summary"]["pass"] == sum(1 for c in record["checks"] if c["status"] == "pass")
    assert "ignored" not in stderr
    # The audit trail names the waiver, its ticket, requester and the key the approval verified with.
    audit = json.loads(gov.run("audit", "log", "--format", "json").stdout)
    [logged] = [e["details"] for e in audit if e["action"] == "waiver"]
    assert (logged["id"], logged["approver"], logged["requested_by"], logged["link"]) == ("W-1", "bob", "alice", "PAY-42")
    assert logged["approved_key"] == check["waiver"]["approved_key"]
    # The VSA names the waived check apart from the passing ones.
    extension = vsa_predicate(record)["readypolicy"]
    assert extension["waived"] == [{"check": CHECK, "waiver": "W-1", "approver": "bob", "expires": entry["expires"]}]
    assert extension["summary"] == record["summary"]


def test_unapproved_waiver_is_ignored_and_named(gov: Gov) -> None:
    gov.request()
    _, check, stderr, code = gov.decide()
    assert check["status"] == "fail" and code == 1
    assert "waiver W-1 ignored: it is requested, not approved" in stderr


def test_waiver_signed_by_unknown_key_is_ignored(gov: Gov) -> None:
    gov.request()
    assert gov.approve(key=gov.rogue).exit_code == 0  # signing works; trusting it is the gate's call
    _, check, stderr, _ = gov.decide()
    assert check["status"] == "fail"
    assert "waiver W-1 ignored: its approval does not verify against any configured approver key" in stderr


def test_waiver_marked_approved_without_a_signature_is_ignored(gov: Gov) -> None:
    gov.request()
    entries = gov.entries()
    entries[0].update({"state": "approved", "approved_by": "bob"})
    gov.rewrite(entries)
    _, check, stderr, _ = gov.decide()
    assert check["status"] == "fail"
    assert "waiver W-1 ignored: it has no signed approval" in stderr


def test_revoked_waiver_is_ignored(gov: Gov) -> None:
    gov.request()
    assert gov.approve().exit_code == 0
    assert gov.run("waiver", "revoke", "W-1", "--reason", "fix landed", actor="carol").exit_code == 0
    _, check, stderr, _ = gov.decide()
    assert check["status"] == "fail"
    assert "waiver W-1 ignored: it was revoked by carol" in stderr
    listed = json.loads(gov.run("waiver", "list", "--format", "json").stdout)
    assert [(w["id"], w["state"]) for w in listed] == [("W-1", "revoked")]


@pytest.mark.parametrize("field, value", [
    ("reason", "approved for something else entirely"),
    ("lanes", ["candidate", "integration"]),
    ("module", "ledger"),
    ("approved_by", "ceo"),
])
def test_tampered_waiver_reason_breaks_approval(gov: Gov, field: str, value: Any) -> None:
    gov.request()
    assert gov.approve().exit_code == 0
    entries = gov.entries()
    entries[0][field] = value
    gov.rewrite(entries)
    _, check, stderr, _ = gov.decide()
    assert check["status"] == "fail"
    assert "waiver W-1 ignored: its approval signed by" in stderr and "edited after approval" in stderr


def test_tampered_expiry_breaks_approval(gov: Gov) -> None:
    gov.request(expires="2d")
    assert gov.approve().exit_code == 0
    entries = gov.entries()
    entries[0]["expires"] = rfc3339(utc_now() + timedelta(days=25))
    gov.rewrite(entries)
    _, check, stderr, _ = gov.decide()
    assert check["status"] == "fail" and "edited after approval" in stderr


def test_plain_waiver_is_ignored_when_approvers_are_configured(gov: Gov) -> None:
    created = utc_now() - timedelta(hours=1)
    gov.rewrite([{"check": CHECK, "module": "payments", "lane": "candidate", "reason": "r", "approver": "bob",
                  "created": rfc3339(created), "expires": rfc3339(created + timedelta(days=2))}])
    _, check, stderr, _ = gov.decide()
    assert check["status"] == "fail"
    assert "waiver #1 ignored: a plain waiver has no signed approval and waiver_approvers is configured" in stderr


def test_without_approvers_waivers_apply_with_a_loud_warning(tmp_path: Path) -> None:
    created = utc_now() - timedelta(hours=1)
    plain = {"check": CHECK, "module": "payments", "lane": "candidate", "reason": "r", "approver": "bob",
             "created": rfc3339(created), "expires": rfc3339(created + timedelta(days=2)), "approved_key": "key forged"}
    project = make_project(tmp_path, waivers=yaml.safe_dump({"waivers": [plain]}))
    result = project.run("eval", "--module", "payments", "--lane", "candidate", "--format", "json")
    check = _check(json.loads(result.stdout), CHECK)
    assert check["status"] == "waived"
    assert "approved_key" not in check["waiver"]  # only a verified approval may name a key
    assert "waiver_approvers is not configured, so 1 waiver(s) are honoured without a verified approval" in result.stderr


def test_requester_cannot_approve_their_own_waiver(gov: Gov) -> None:
    gov.request()
    result = gov.approve(actor="alice")
    assert result.exit_code == 2
    assert "was requested by alice, who cannot also approve it" in result.stderr
    assert gov.entries()[0]["state"] == "requested"


def test_request_longer_than_the_lane_lifetime_is_refused(gov: Gov) -> None:
    result = gov.run("waiver", "request", "--check", CHECK, "--module", "payments", "--lane", "candidate",
                     "--reason", "r", "--link", "L", "--expires", "31d")
    assert result.exit_code == 2
    assert "the policy allows at most 30 in lane candidate" in result.stderr
    assert not gov.waivers.exists()


def _signed_waiver(gov: Gov, created: datetime, expires: datetime) -> dict[str, Any]:
    item = {"id": "W-old", "check": CHECK, "module": "payments", "lanes": ["candidate"], "reason": "old",
            "link": "PAY-1", "requested_by": "alice", "approved_by": "bob", "created": rfc3339(created),
            "expires": rfc3339(expires), "state": "approved"}
    item["approval"] = sign_approval(item, key_signer(gov.approver, PASSWORD.encode()))
    return item


def test_expired_waiver_turns_the_check_back_into_a_failure(gov: Gov) -> None:
    now = utc_now()
    gov.rewrite([_signed_waiver(gov, now - timedelta(days=3), now - timedelta(minutes=1))])
    record, check, stderr, code = gov.decide()
    assert check["status"] == "fail" and code == 1 and record["summary"]["waived"] == 0
    assert "waiver W-old ignored: it expired" in stderr


@pytest.fixture
def engine(tmp_path: Path) -> OpaCliEngine:
    return OpaCliEngine(OpaBinary(find_opa(None, REPO), tmp_path / "opa"))


def test_the_policy_itself_drops_a_waiver_once_expired(gov: Gov, engine: OpaCliEngine) -> None:
    """The same waiver entry, decided by OPA before and after its expiry: waived, then fail again."""
    created = datetime(2026, 3, 1, tzinfo=UTC)
    entry = {"id": "W-x", "check": CHECK, "module": "payments", "lane": "candidate", "reason": "r", "approver": "bob",
             "created": rfc3339(created), "expires": rfc3339(created + timedelta(days=5))}
    statuses = [_decided(gov.project, engine, rfc3339(created + timedelta(days=days)), [entry])[0] for days in (4, 5)]
    assert statuses == ["waived", "fail"]


def _decided(project: Project, engine: OpaCliEngine, now: str, waivers: list[dict[str, Any]],
             check_id: str = CHECK) -> tuple[str, dict[str, Any]]:
    store = open_store(str(project.root / "store.db"))
    try:
        policy = load_pack(project.root / "policies")
        [evaluation] = decide(engine=engine, policy=policy, cache_dir=project.root / ".cache", lane="candidate",
                              batch=[(Subject("payments", "abc"), store.latest_evidence("payments", "abc"))],
                              now=now, waivers=waivers)
    finally:
        store.close()
    return _check(evaluation.record, check_id)["status"], evaluation.record


# Advisory vs blocking, scheduled enforcement


def _catalog(project: Project) -> Path:
    return project.root / "policies" / "config" / "data.yaml"


def _set_enforcement(project: Project, default: str | None = None, **checks: dict[str, Any]) -> None:
    """Edit the project's copy of the catalog (PyYAML round trip; comments do not matter here)."""
    path = _catalog(project)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if default is not None:
        data["enforcement"] = {"default": default}
    for check_id, fields in checks.items():
        data["checks"][check_id.replace("__", ".")].update(fields)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _eval(project: Project) -> tuple[dict[str, Any], Any]:
    result = project.run("eval", "--module", "payments", "--lane", "candidate", "--format", "json", "--revision", "abc")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout), result


def test_advisory_failure_warns_and_does_not_block(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    _set_enforcement(project, tests__unit={"enforcement": "advisory"})
    record, result = _eval(project)
    check = _check(record, CHECK)
    assert (check["status"], check["enforcement"]) == ("warn", "advisory")
    assert record["summary"]["warn"] == 1 and result.exit_code == 1  # the other failures still block
    # With every check advisory nothing blocks: READY, exit 0, and the table says WARN.
    _set_enforcement(project, default="advisory")
    record, result = _eval(project)
    assert record["allow"] is True and result.exit_code == 0
    blocking = [c for c in record["checks"] if c["status"] in ("fail", "missing")]
    assert blocking == []
    table = project.run("eval", "--module", "payments", "--lane", "candidate", "--revision", "abc", "--no-record")
    assert table.exit_code == 0
    assert f"WARN     {CHECK}" in table.output and "READY" in table.output


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def test_check_becomes_blocking_on_enforce_from_date(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    today = utc_now()
    _set_enforcement(project, default="advisory", tests__unit={"enforce_from": _day(today + timedelta(days=2))})
    record, result = _eval(project)
    assert _check(record, CHECK)["status"] == "warn" and result.exit_code == 0
    assert _check(record, CHECK)["enforce_from"] == _day(today + timedelta(days=2))
    _set_enforcement(project, tests__unit={"enforce_from": _day(today)})
    record, result = _eval(project)
    check = _check(record, CHECK)
    assert (check["status"], check["enforcement"]) == ("fail", "blocking")
    assert record["allow"] is False and result.exit_code == 1


def test_replay_before_enforce_from_keeps_verdict(tmp_path: Path, engine: OpaCliEngine) -> None:
    """Decided before the date, replayed after it (by the wall clock): the same READY, because time is input.now."""
    project = make_project(tmp_path)
    _set_enforcement(project, default="advisory", tests__unit={"enforce_from": "2026-02-01"})
    status, record = _decided(project, engine, "2026-01-31T23:59:59Z", [])
    assert status == "warn" and record["allow"] is True
    store = open_store(str(project.root / "store.db"))
    try:
        replayed = replay_decision(record, store, load_pack(project.root / "policies"), engine, project.root / ".cache")
    finally:
        store.close()
    assert not replayed.differences
    assert replayed.replayed["allow"] is True
    assert _decided(project, engine, "2026-02-01T00:00:00Z", [])[0] == "fail"


def _tamper_lib(project: Project, old: str, new: str) -> None:
    path = project.root / "policies" / "lib" / "decision.rego"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_tampered_rule_cannot_mark_blocking_check_advisory(tmp_path: Path) -> None:
    """A library whose enforcement falls back to advisory (the catalog says blocking): refused, nothing stored."""
    project = make_project(tmp_path)
    _tamper_lib(project, '{"enforcement": advisory_if[object.get(entry, "enforcement", default_enforcement) == "advisory"]}',
                '{"enforcement": "advisory"}')
    result = project.run("eval", "--module", "payments", "--lane", "candidate", "--revision", "abc")
    assert result.exit_code == 2
    assert "but the pack's catalog makes it blocking" in result.stderr
    assert project.run("audit", "log", "--format", "json").output.count('"action": "decision"') == 0


def test_tampered_rule_cannot_block_on_an_advisory_check(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    _set_enforcement(project, tests__unit={"enforcement": "advisory"})
    _tamper_lib(project, 'enforcement.enforcement == "advisory"\n} else := r', 'false\n} else := r')
    result = project.run("eval", "--module", "payments", "--lane", "candidate", "--revision", "abc")
    assert result.exit_code == 2
    assert f"check {CHECK} is fail" in result.stderr and "makes it advisory" in result.stderr


@pytest.mark.parametrize("fields, message", [
    ({"enforcement": "Advisory"}, "has enforcement 'Advisory'"),
    ({"enforce_from": "15/01/2027"}, "has enforce_from '15/01/2027'"),
])
def test_malformed_enforcement_in_the_catalog_is_an_error(tmp_path: Path, fields: dict[str, Any], message: str) -> None:
    project = make_project(tmp_path)
    _set_enforcement(project, tests__unit=fields)
    result = project.run("eval", "--module", "payments", "--lane", "candidate", "--revision", "abc")
    assert result.exit_code == 2 and message in result.stderr


def test_unquoted_enforce_from_date_is_an_error(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    path = _catalog(project)
    text = path.read_text(encoding="utf-8")
    anchor = "  tests.unit:\n"
    path.write_text(text.replace(anchor, anchor + "    enforce_from: 2027-01-15\n", 1), encoding="utf-8")
    result = project.run("eval", "--module", "payments", "--lane", "candidate", "--revision", "abc")
    assert result.exit_code == 2 and 'write a quoted day "YYYY-MM-DD"' in result.stderr



def test_requirements_and_policy_diff_show_enforcement_ahead_and_who_flips(tmp_path: Path) -> None:
    """A check scheduled for next week warns now; both commands name the day and the READY decision it will flip."""
    project = make_project(tmp_path)
    _set_enforcement(project, default="advisory")
    base = tmp_path / "base.tar.gz"
    base.write_bytes(bundle_bytes(load_pack(project.root / "policies")))
    day = _day(utc_now() + timedelta(days=7))
    _set_enforcement(project, tests__unit={"enforce_from": day})
    expected = [{"day": day, "check": CHECK, "warned": [{"module": "payments", "lane": "candidate"}],
                 "flips": [{"module": "payments", "lane": "candidate"}]}]
    listed = project.run("requirements", "--lane", "candidate", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["rollout"] == expected
    table = project.run("requirements", "--lane", "candidate")
    assert f"{day}  {CHECK} becomes blocking: warns in 1 decision(s), flips 1 to NOT READY" in table.stdout
    assert "flips payments in candidate" in table.stdout
    diff = project.run("policy", "diff", "--base", str(base), "--lane", "candidate", "--format", "json")
    assert diff.exit_code in (0, 1), diff.output
    assert json.loads(diff.stdout)["rollout"] == expected
    # A date already reached is not "ahead": nothing listed, nothing evaluated.
    _set_enforcement(project, tests__unit={"enforce_from": _day(utc_now() - timedelta(days=1))})
    assert json.loads(project.run("requirements", "--lane", "candidate", "--format", "json").stdout)["rollout"] == []


# Why not the next lane


def _blocking(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["id"], c["status"]) for c in record["checks"] if c["status"] in ("fail", "missing")]


def test_eval_names_the_highest_lane_and_every_check_before_the_target(tmp_path: Path) -> None:
    """payments targets integration (its manifest) and is not ready for candidate: every blocker of both lanes, once."""
    project = make_project(tmp_path)
    args = ("eval", "--module", "payments", "--revision", "abc", "--lane", "candidate", "--lane", "integration",
            "--lane", "production", "--no-record")
    records = {r["lane"]: r for r in json.loads(project.run(*args, "--format", "json").stdout)}
    result = project.run(*args)
    expected: list[str] = []
    seen: set[str] = set()
    for lane in ("candidate", "integration"):  # production lies beyond the target
        for check, status in _blocking(records[lane]):
            if check not in seen:
                seen.add(check)
                expected.append(f"{lane}: {check} ({status})")
    tail = result.stdout.split("\nwhy not the next lane:\n")[1].strip()
    assert tail == (f"payments @ abc: ready for no lane, target integration; "
                    f"{len(expected)} check(s) stand between: " + "; ".join(expected))
    markdown = project.run(*args, "--format", "markdown").stdout
    assert f"- {tail}" in markdown.split("### Why not the next lane")[1]


def test_a_module_at_its_target_says_so(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    _set_enforcement(project, default="advisory")
    result = project.run("eval", "--module", "payments", "--revision", "abc", "--lane", "candidate", "--lane", "integration")
    assert result.exit_code == 0
    tail = result.stdout.split("\nwhy not the next lane:\n")[1]
    assert tail.strip() == "payments @ abc: ready for integration, target integration: at target"


def test_html_lists_waivers_expiring_within_14_days_and_rolls_up_teams(gov: Gov) -> None:
    gov.request("W-soon", expires="5d")
    gov.request("W-later", expires="20d", check="security.sast")
    assert gov.approve("W-soon").exit_code == 0 and gov.approve("W-later").exit_code == 0
    record, check, _, _ = gov.decide()
    assert check["status"] == "waived" and _check(record, "security.sast")["status"] == "waived"
    page = gov.project.root / "report.html"
    assert gov.run("report", "--html", str(page)).exit_code == 0
    text = page.read_text(encoding="utf-8")
    expiring = text[text.index('aria-label="expiring waivers"'):]
    assert "W-soon" in expiring and CHECK in expiring and "W-later" not in expiring
    teams = text[text.index('aria-label="teams"'):text.index('aria-label="expiring waivers"')]
    # Only candidate was decided: target integration is undecided, so not at target, and candidate's blockers count.
    assert '<td class="module">team-payments</td><td>0 / 1</td>' in teams
    assert f"<td>{len(_blocking(record))}</td>" in teams


ENFORCEMENT_QUERY = "{id: data.readiness.lib.enforcement(id) | some id, _ in data.readiness.config.checks}"


def test_python_reads_enforcement_exactly_as_the_policy_does(tmp_path: Path, engine: OpaCliEngine) -> None:
    """The guard in check_decision is only as good as its reading of the catalog: OPA and Python agree, per check and time."""
    project = make_project(tmp_path)
    _set_enforcement(project, default="advisory", tests__unit={"enforce_from": "2026-03-01"},
                     coverage__line={"enforcement": "blocking"},
                     security__sast={"enforcement": "blocking", "enforce_from": "2026-03-01"})
    policy = load_pack(project.root / "policies")
    config = yaml.safe_load(_catalog(project).read_text(encoding="utf-8"))
    for now in ("2026-02-28T23:59:59Z", "2026-03-01T00:00:00Z"):
        [answer] = engine.evaluate(stage.load(policy, tmp_path / "stage"), ENFORCEMENT_QUERY, [{"now": now}])
        python = {check_id: e.at(parse_rfc3339(now)) for check_id, e in pack_enforcement(config, "test").items()}
        assert answer == python, now
        advisory = {check_id for check_id, mode in answer.items() if mode == "advisory"}
        before = now.startswith("2026-02")
        assert ("tests.unit" in advisory) is before and ("security.sast" in advisory) is before
        assert "coverage.line" not in advisory and "schema.compat" in advisory


# Pattern waivers: an explicit owner, checked against the pack's owners table (never the manifest)


def _request_pattern(gov: Gov, owner: str) -> None:
    result = gov.run("waiver", "request", "--check", CHECK, "--pattern", "pay*", "--owner", owner, "--lane", "candidate",
                     "--reason", "all payment services share the flaky fixture", "--link", "PAY-7", "--expires", "3d",
                     "--id", "W-pat")
    assert result.exit_code == 0, result.output
    assert gov.approve("W-pat").exit_code == 0


def grant_ownership(project: Project, owners: dict[str, list[str]]) -> None:
    """Set `waivers.owners` (team → modules) in the project's copy of the pack data, as the platform would."""
    path = _catalog(project)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["waivers"]["owners"] = owners
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_pattern_waiver_covers_matching_modules_of_its_owner(gov: Gov) -> None:
    grant_ownership(gov.project, {"team-payments": ["payments"]})
    _request_pattern(gov, "team-payments")
    _, check, stderr, _ = gov.decide()
    assert check["status"] == "waived", stderr
    assert (check["waiver"]["pattern"], check["waiver"]["owner"], check["waiver"]["module"]) == ("pay*", "team-payments",
                                                                                                   "payments")


def test_pattern_waiver_for_another_owner_does_not_apply(gov: Gov) -> None:
    grant_ownership(gov.project, {"team-payments": ["payments"], "team-ledger": ["ledger"]})
    _request_pattern(gov, "team-ledger")
    _, check, _, code = gov.decide()
    assert check["status"] == "fail" and code == 1


def test_tampered_library_cannot_apply_a_pattern_waiver_of_another_owner(gov: Gov) -> None:
    """A library that forgets the owner check waives the check; readypolicy's own reading refuses the decision."""
    grant_ownership(gov.project, {"team-payments": ["payments"], "team-ledger": ["ledger"]})
    _request_pattern(gov, "team-ledger")
    _tamper_lib(gov.project, "\t\towned(w)\n", "")
    result = gov.run("eval", "--module", "payments", "--lane", "candidate", "--revision", "abc")
    assert result.exit_code == 2
    assert f"says check {CHECK} is waived, but no waiver in the input names that check" in result.stderr


def test_a_pattern_waiver_needs_an_owner(gov: Gov) -> None:
    result = gov.run("waiver", "request", "--check", CHECK, "--pattern", "pay*", "--lane", "candidate",
                     "--reason", "r", "--link", "L", "--expires", "3d")
    assert result.exit_code == 2 and "--pattern P with --owner TEAM" in result.output


def test_advisory_warnings_are_counted_apart_in_every_format(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    _set_enforcement(project, tests__unit={"enforcement": "advisory"})
    record, _ = _eval(project)
    warned = [c["id"] for c in record["checks"] if c["status"] == "warn"]
    assert warned == [CHECK]
    suite = DET.fromstring(get_format("junit").render([record]).encode())[0]
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["summary.warn"] == "1" and props["summary.pass"] == str(record["summary"]["pass"])
    [case] = [c for c in suite.iter("testcase") if c.get("name") == CHECK]
    assert case.find("failure") is None and case.findtext("system-out", "").startswith("WARN (advisory, does not block)")
    sarif = json.loads(get_format("sarif").render([record]))["runs"][0]
    [result] = [r for r in sarif["results"] if r["ruleId"] == CHECK]
    assert result["level"] == "warning" and "does not block" in result["message"]["text"]
    assert sarif["properties"]["decisions"][0]["summary"]["warn"] == 1
    markdown = get_format("markdown").render([record])
    assert f"| candidate | `{CHECK}` | warn |" in markdown.split("### Waived and advisory checks (not blocking)")[1]
    [issue] = [i for i in json.loads(get_format("codequality").render([record])) if i["check_name"] == CHECK]
    assert issue["severity"] == "info" and "does not block" in issue["description"]
    html = HtmlFormat().render([record])
    assert '<span class="status s-warn">WARN</span>' in html


def test_signed_decision_and_vsa_carry_the_waiver_and_verify(gov: Gov, tmp_path: Path) -> None:
    gov.request()
    assert gov.approve().exit_code == 0
    signing_key, signing_pub = _keys(tmp_path, "ci")
    out = tmp_path / "decisions"
    result = gov.run("eval", "--module", "payments", "--lane", "candidate", "--revision", "abc", "--sign", "--vsa",
                     "--key", str(signing_key), "--sign-dir", str(out))
    assert result.exit_code == 1, result.output
    decision = out / "payments.candidate.decision.json"
    signed = json.loads(decision.read_text(encoding="utf-8"))
    assert signed["summary"]["waived"] == 1 and _check(signed, CHECK)["waiver"]["id"] == "W-1"
    for bundle in (out / "payments.candidate.decision.sigstore.json", out / "payments.candidate.decision.vsa.sigstore.json"):
        verified = gov.run("verify", str(decision), "--bundle", str(bundle), "--key", str(signing_pub))
        assert verified.exit_code == 0, verified.output
    vsa = json.loads(out.joinpath("payments.candidate.decision.vsa.sigstore.json").read_text(encoding="utf-8"))
    statement = json.loads(base64.b64decode(vsa["dsseEnvelope"]["payload"]))
    assert statement["predicate"]["readypolicy"]["waived"][0]["waiver"] == "W-1"
    # Rewriting the signed decision to hide the waiver (call it a pass) breaks verification.
    for check in signed["checks"]:
        if check["id"] == CHECK:
            check["status"] = "pass"
    decision.write_text(json.dumps(signed), encoding="utf-8")
    tampered = gov.run("verify", str(decision), "--key", str(signing_pub))
    assert tampered.exit_code == 2
