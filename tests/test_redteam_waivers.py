"""Red-team attacks on waiver revocation: the file's `state` is not signed, the audit chain is the record.

Each test drives the real CLI with the real OPA binary, real keys and a real SQLite store. Statuses
are read from the decision records the CLI prints, the waiver file with PyYAML and the audit log
from `audit log --format json`, never from the waiver code's own helpers.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from readypolicy.store.open import open_store
from test_governance import Gov, _check
from test_governance import gov as gov  # the fixture

OTHER = "security.sast"
"""A second check that fails for payments@abc in candidate (the bandit fixture has findings)."""


def _approved_pair(gov: Gov) -> None:
    """W-1 on tests.unit and W-2 on security.sast, both approved with the trusted key; W-1 revoked by carol."""
    gov.request("W-1")
    gov.request("W-2", check=OTHER)
    assert gov.approve("W-1").exit_code == 0
    assert gov.approve("W-2").exit_code == 0
    revoked = gov.run("waiver", "revoke", "W-1", "--reason", "risk no longer accepted", actor="carol")
    assert revoked.exit_code == 0, revoked.output


def _sed_revive(gov: Gov) -> None:
    """`sed -i 's/state: revoked/state: approved/' waivers.yaml`: what anyone with repository write access can do."""
    text = gov.waivers.read_text(encoding="utf-8")
    assert "state: revoked" in text
    gov.waivers.write_text(text.replace("state: revoked", "state: approved"), encoding="utf-8")


def _revokes(gov: Gov) -> list[dict[str, Any]]:
    audit = json.loads(gov.run("audit", "log", "--format", "json").stdout)
    return [entry for entry in audit if entry["action"] == "waiver-revoke"]


def test_a_revoked_waiver_cannot_be_restored_by_editing_its_state(gov: Gov) -> None:
    _approved_pair(gov)
    _, check, _, _ = gov.decide()
    assert check["status"] == "fail"
    _sed_revive(gov)
    states = {entry["id"]: entry["state"] for entry in yaml.safe_load(gov.waivers.read_text(encoding="utf-8"))["waivers"]}
    assert states == {"W-1": "approved", "W-2": "approved"}
    record, check, stderr, code = gov.decide()
    assert check["status"] == "fail", f"revoked waiver honoured again: {check['message']}"
    assert code == 1
    assert "waiver W-1 ignored: it was revoked by carol" in stderr and "the waiver file says state 'approved'" in stderr
    # The revocation is per waiver: W-2, approved and never revoked, still applies, although the first
    # eval logged a `waiver` audit entry naming its id (only `waiver-revoke` entries revoke).
    assert _check(record, OTHER)["status"] == "waived" and _check(record, OTHER)["waiver"]["id"] == "W-2"


def test_a_revoked_waiver_stripped_of_its_revocation_fields_stays_revoked(gov: Gov) -> None:
    """The red-team reproduction: state set back and every revoked_* field removed, as if never revoked."""
    gov.request()
    assert gov.approve().exit_code == 0
    assert gov.run("waiver", "revoke", "W-1", "--reason", "risk no longer accepted", actor="carol").exit_code == 0
    entries = gov.entries()
    entries[0]["state"] = "approved"
    for key in ("revoked_by", "revoked_at", "revoke_reason"):
        entries[0].pop(key)
    gov.rewrite(entries)
    _, check, _, _ = gov.decide()
    assert check["status"] == "fail", f"revoked waiver honoured again: {check['message']}"


def test_a_revived_waiver_is_listed_as_revoked_with_its_reason(gov: Gov) -> None:
    _approved_pair(gov)
    [logged] = _revokes(gov)
    _sed_revive(gov)
    listed = {row["id"]: row for row in json.loads(gov.run("waiver", "list", "--format", "json").stdout)}
    row = listed["W-1"]
    assert (row["state"], row["file_state"], row["revoked_by"], row["revoke_reason"]) == (
        "revoked", "approved", "carol", "risk no longer accepted")
    assert row["revoked_at"] == logged["at"] and row["revocation"] == f"audit entry {logged['seq']}"
    assert listed["W-2"]["state"] == "approved" and "revoked_by" not in listed["W-2"]
    table = gov.run("waiver", "list").stdout
    [line] = [text for text in table.splitlines() if text.startswith("W-1")]
    assert "revoked by carol" in line and "risk no longer accepted" in line and "the waiver file says approved" in line


def test_a_revocation_is_a_hash_chained_audit_entry(gov: Gov) -> None:
    _approved_pair(gov)
    [logged] = _revokes(gov)
    assert (logged["actor"], logged["module"]) == ("carol", "payments")
    assert logged["details"]["id"] == "W-1" and logged["details"]["reason"] == "risk no longer accepted"
    assert logged["details"]["waiver_digest"].startswith("sha256:")
    assert gov.run("audit", "verify-chain").exit_code == 0
    # The file and the chain agree on when it happened.
    [w1] = [entry for entry in gov.entries() if entry["id"] == "W-1"]
    assert (w1["revoked_by"], w1["revoked_at"]) == ("carol", logged["at"])
    again = gov.run("waiver", "revoke", "W-1", "--reason", "twice", actor="carol")
    assert again.exit_code == 2 and "already revoked" in again.output
    assert len(_revokes(gov)) == 1


def test_a_revoked_id_cannot_be_approved_again(gov: Gov) -> None:
    """Set the revived waiver back to `requested` and ask an approver to sign it: refused, the id is spent."""
    _approved_pair(gov)
    entries = gov.entries()
    entries[0].update({"state": "requested", "approved_by": ""})
    for key in ("approval", "revoked_by", "revoked_at", "revoke_reason"):
        entries[0].pop(key)
    gov.rewrite(entries)
    before = gov.waivers.read_bytes()
    approved = gov.approve("W-1", actor="dave")
    assert approved.exit_code == 2 and "waiver W-1 cannot be approved: it was revoked by carol" in approved.output
    assert gov.waivers.read_bytes() == before
    _, check, _, _ = gov.decide()
    assert check["status"] == "fail"


def test_a_revocation_written_only_in_the_file_still_applies_and_can_be_made_durable(gov: Gov) -> None:
    """The reverse edit is safe: a waiver the file calls revoked is not honoured; `waiver revoke` then records it."""
    gov.request()
    assert gov.approve().exit_code == 0
    entries = gov.entries()
    entries[0]["state"] = "revoked"
    gov.rewrite(entries)
    _, check, _, _ = gov.decide()
    assert check["status"] == "fail" and _revokes(gov) == []
    assert json.loads(gov.run("waiver", "list", "--format", "json").stdout)[0]["revocation"].startswith(
        "the waiver file only")
    assert gov.run("waiver", "revoke", "W-1", "--reason", "recorded late", actor="carol").exit_code == 0
    assert len(_revokes(gov)) == 1
    _sed_revive(gov)
    _, check, _, _ = gov.decide()
    assert check["status"] == "fail"


def test_a_revocation_the_store_refuses_changes_nothing(gov: Gov) -> None:
    """No chain entry, no revocation: the file is left as it was and the command fails closed (exit 2)."""
    gov.request()
    assert gov.approve().exit_code == 0
    before = gov.waivers.read_bytes()
    refused = gov.project.run("--store", str(gov.project.root), "waiver", "revoke", "W-1", "--reason", "r")
    assert refused.exit_code == 2, refused.output
    assert gov.waivers.read_bytes() == before
    _, check, _, _ = gov.decide()
    assert check["status"] == "waived"


def test_only_a_waiver_revoke_entry_counts_as_a_revocation(store_url: str) -> None:
    """The store filters the chain by action: a `waiver` entry (a decision that used W-2) names an id too."""
    store = open_store(store_url, create=True)
    try:
        store.append_audit("ci", "waiver", "api", {"id": "W-2", "check": "tests.unit"})
        store.append_audit("carol", "waiver-revoke", "api", {"id": "W-1", "reason": "r"})
        store.append_audit("ci", "decision", "api", {"id": "W-3"})
        assert [(e.seq, e.details["id"]) for e in store.audit_entries(action="waiver-revoke")] == [(2, "W-1")]
        assert [e.seq for e in store.audit_entries(module="api", action="waiver")] == [1]
    finally:
        store.close()
