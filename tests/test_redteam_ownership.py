"""Pattern waivers: ownership comes from the pack's data, never from the module's own manifest.

A waiver for `pay*` owned by team-ledger covers only the modules the platform's owners table
(`waivers.owners` in the pack's config data, team → exact module names) gives team-ledger. The
attack: a module writes `owner: team-ledger` in its own module.lane.yaml to fall under that waiver.
Every test drives the real CLI or the real OPA binary; expected statuses are read from the decision
records the CLI prints, and the Python guard is held equal to what OPA answers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy_project import Project
from readypolicy.canonical import rfc3339
from readypolicy.decision.record import waiver_matches
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_cli import OpaCliEngine
from readypolicy.policy import stage
from readypolicy.policy.pack import load_pack, pack_dir
from support import REPO, require_opa
from test_governance import CHECK, Gov, _catalog, grant_ownership
from test_governance import gov as gov  # the fixture

LEDGER_AND_PAYMENTS = {"team-ledger": ["ledger"], "team-payments": ["payments"]}


def _request_ledger_pattern(gov: Gov) -> None:
    """team-ledger's signed, approved waiver for every `pay*` module it owns."""
    result = gov.run("waiver", "request", "--check", CHECK, "--pattern", "pay*", "--owner", "team-ledger", "--lane",
                     "candidate", "--reason", "ledger's pay* services share a flaky fixture", "--link", "LED-7",
                     "--expires", "3d", "--id", "W-pat")
    assert result.exit_code == 0, result.output
    assert gov.approve("W-pat").exit_code == 0


def _claim_owner(project: Project, owner: str) -> None:
    """The module rewrites its own manifest's `owner` and ingests it, as its CI job can."""
    manifest = project.root / "module.lane.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert "owner: team-payments" in text
    manifest.write_text(text.replace("owner: team-payments", f"owner: {owner}"), encoding="utf-8")
    result = project.run("ingest", "--module", "payments", "--revision", "abc", str(manifest))
    assert result.exit_code == 0, result.output


def test_a_module_cannot_join_another_team_by_naming_it_as_owner_in_its_manifest(gov: Gov) -> None:
    """payments (team-payments per the platform) writes `owner: team-ledger`: team-ledger's waiver still does not apply."""
    grant_ownership(gov.project, LEDGER_AND_PAYMENTS)
    _request_ledger_pattern(gov)
    _, check, _, code = gov.decide()
    assert (check["status"], code) == ("fail", 1)
    _claim_owner(gov.project, "team-ledger")
    _, check, _, code = gov.decide()
    assert (check["status"], code) == ("fail", 1), "team-ledger's waiver now covers team-payments' module"


def test_the_platforms_owners_table_alone_decides_which_team_owns_a_module(gov: Gov) -> None:
    """The same waiver applies once the pack's table gives payments to team-ledger, whatever the manifest says."""
    grant_ownership(gov.project, {"team-ledger": ["ledger", "payments"]})
    _request_ledger_pattern(gov)
    _, check, stderr, _ = gov.decide()  # the manifest still says team-payments
    assert check["status"] == "waived", stderr
    assert (check["waiver"]["owner"], check["waiver"]["module"]) == ("team-ledger", "payments")


def test_a_pattern_waiver_covers_nothing_when_the_pack_declares_no_owners(gov: Gov) -> None:
    """Unknown ownership never widens a waiver: no `waivers.owners` table, a manifest agreeing with the waiver, still fail."""
    assert "owners" not in yaml.safe_load(_catalog(gov.project).read_text(encoding="utf-8"))["waivers"]
    _request_ledger_pattern(gov)
    _claim_owner(gov.project, "team-ledger")
    _, check, _, code = gov.decide()
    assert (check["status"], code) == ("fail", 1)


def test_a_module_the_owners_table_does_not_list_is_owned_by_nobody(gov: Gov) -> None:
    """team-ledger is listed, payments is not listed under any team: the manifest's claim does not fill the gap."""
    grant_ownership(gov.project, {"team-ledger": ["ledger"]})
    _request_ledger_pattern(gov)
    _claim_owner(gov.project, "team-ledger")
    _, check, _, code = gov.decide()
    assert (check["status"], code) == ("fail", 1)


def test_an_exact_module_waiver_needs_no_owners_table(gov: Gov) -> None:
    """A waiver naming its module (no owner) keeps working with no ownership declared anywhere."""
    gov.request()
    assert gov.approve().exit_code == 0
    _, check, stderr, _ = gov.decide()
    assert check["status"] == "waived", stderr


@pytest.mark.parametrize("table", [["payments"], {"team-ledger": "payments"}, {"team-ledger": [None]}])
def test_a_malformed_owners_table_is_refused(gov: Gov, table: Any) -> None:
    """An owners table readypolicy cannot read is an error (exit 2, one line naming the table), never a guess."""
    path = _catalog(gov.project)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["waivers"]["owners"] = table
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = gov.run("eval", "--module", "payments", "--lane", "candidate", "--revision", "abc", "--no-record")
    assert result.exit_code == 2, result.output
    assert "waivers.owners must map each team to a list of module names" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


NOW = datetime(2026, 11, 20, tzinfo=UTC)
OWNERS_TABLES: list[dict[str, Any]] = [
    {},
    {"team-pay": ["payments"]},
    {"team-other": ["payments"], "team-pay": ["ledger"]},
    {"team-pay": ["payments-v2", "pay"]},
    {"team-pay": "payments"},  # not a list: OPA owns nothing by it (readypolicy refuses such a pack before this)
]


def _waiver_input(owner: str | None, manifest_owner: str | None) -> dict[str, Any]:
    waiver: dict[str, Any] = {"check": CHECK, "module": "payments", "lane": "candidate", "reason": "r",
                              "approver": "bob", "created": rfc3339(NOW - timedelta(days=1)),
                              "expires": rfc3339(NOW + timedelta(days=3))}
    if owner is not None:
        waiver.update(pattern="pay*", owner=owner)
    return {"module": "payments", "revision": "abc", "lane": "candidate", "now": rfc3339(NOW),
            "manifest": None if manifest_owner is None else {"owner": manifest_owner}, "evidence": {},
            "waivers": [waiver]}


@pytest.mark.parametrize("table", OWNERS_TABLES)
def test_python_guard_and_rego_agree_on_which_waivers_an_owner_may_use(table: dict[str, Any], tmp_path: Path) -> None:
    """For every waiver owner and manifest claim, `lib.waiver_for` (OPA) and `waiver_matches` (Python) agree.

    A drift between them would let a tampered library waive what readypolicy does not check, or
    refuse honest decisions; the manifest's `owner` must change neither answer.
    """
    policy = load_pack(pack_dir(REPO / "policies", "readiness"))
    engine = OpaCliEngine(OpaBinary(path=require_opa(), cache_dir=tmp_path / "opa", timeout_s=30))
    waivers_data = {"lifetime_days_max": {"candidate": 30}, "owners": table}
    query = (f'[w | w := data.readiness.lib.waiver_for("{CHECK}", "candidate") '
             f"with data.readiness.config.waivers as {json.dumps(waivers_data)}]")
    cases = [(owner, claim) for owner in (None, "team-pay", "team-other", "team-unknown")
             for claim in (None, "team-pay", "team-other")]
    inputs = [_waiver_input(owner, claim) for owner, claim in cases]
    answers = engine.evaluate(stage.load(policy, tmp_path / "stage"), query, inputs)
    python_owners = {team: frozenset(mods) for team, mods in table.items() if isinstance(mods, list)}
    for (owner, claim), policy_input, answer in zip(cases, inputs, answers, strict=True):
        expected = owner is None or "payments" in python_owners.get(owner, frozenset())
        assert (len(answer) == 1) == expected, (owner, claim, table)
        assert waiver_matches(CHECK, policy_input, 30, python_owners) == expected, (owner, claim, table)
