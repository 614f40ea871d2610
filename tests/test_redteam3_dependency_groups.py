"""Red-team round 3: OSV-Scanner advisories that no row of the report counts.

OSV-Scanner's JSON lists each package's advisories under `vulnerabilities` and the rows its table
prints under `groups` (one per flaw, the ids it joins and the group's `max_severity`). Only groups
were counted, so groups that name none of the advisories (an empty `ids`, as osv-scanner writes
for a licence-only entry) left every advisory uncounted: the real report of regex 1.5.1 and
gogo/protobuf 1.3.1 (CVSS 7.5 and 8.6) passed security.dependencies as "2 package(s) audited, no
vulnerability". osv-scanner itself puts every advisory in one group; a report that does not is
refused. Expected advisories are read from the raw report with json, never from the normalizer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policy_project import ARTIFACTS, make_project
from test_governance import _check
from test_redteam_ingest import INGEST, _refused

REPORT = ARTIFACTS / "osv-scanner-json" / "osv-scanner-offline.json"
CANDIDATE = ("--module", "payments", "--lane", "candidate", "--revision", "abc", "--no-record")


def _report() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(REPORT.read_text(encoding="utf-8"))
    return doc


def _advisories(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(package, advisory id) of every advisory the report holds."""
    return [(entry["package"]["name"], vuln["id"]) for source in doc["results"] for entry in source["packages"]
            for vuln in entry.get("vulnerabilities", [])]


def _dependencies(tmp_path: Path, report: Path) -> tuple[int, dict[str, Any]]:
    """Ingest `report` into a fresh project: (exit code, security.dependencies in the candidate lane)."""
    project = make_project(tmp_path)
    code = project.run(*INGEST, str(report)).exit_code
    [record] = project.eval_records(*CANDIDATE)
    return code, _check(record, "security.dependencies")


def test_the_real_osv_report_fails_the_dependency_audit(tmp_path: Path) -> None:
    """Control: the unmodified report's groups (max_severity 7.5 and 8.6) fail the candidate ceiling (medium)."""
    groups = [group for source in _report()["results"] for entry in source["packages"] for group in entry["groups"]]
    assert sorted(float(group["max_severity"]) for group in groups) == [7.5, 8.6]
    code, check = _dependencies(tmp_path, REPORT)
    assert code == 0 and check["status"] == "fail", check


@pytest.mark.parametrize("attack", ["groups naming no advisory", "one advisory left out of its group"])
def test_advisories_outside_every_group_do_not_pass_the_dependency_audit(tmp_path: Path, attack: str) -> None:
    """Before: the first variant stored 0 vulnerabilities and security.dependencies passed; the second
    silently dropped GHSA-m5pq-gvj9-9vr8 and GHSA-c3h9-896r-86jm. Now ingest refuses the report."""
    doc = _report()
    for source in doc["results"]:
        for entry in source["packages"]:
            if attack == "groups naming no advisory":
                entry["groups"] = [{"ids": [], "aliases": [], "max_severity": ""}]
            else:
                entry["groups"][0]["ids"] = entry["groups"][0]["ids"][:1]
    assert len(_advisories(doc)) == 4
    report = tmp_path / "osv.json"
    report.write_text(json.dumps(doc), encoding="utf-8")
    project = make_project(tmp_path)
    line = _refused(project, report)
    outside = "2 advisory(ies)" if attack == "groups naming no advisory" else "1 advisory(ies)"
    assert line.endswith(f"results[0].packages[0]: {outside} in no group: osv-scanner puts each in one, "
                         "so they would count nowhere"), line
    [record] = project.eval_records(*CANDIDATE)
    assert _check(record, "security.dependencies")["status"] == "missing"


def test_an_advisory_without_an_id_is_refused(tmp_path: Path) -> None:
    """An advisory with no id cannot be named by a group (nor, without groups, be a row of its own)."""
    doc = _report()
    entry = doc["results"][1]["packages"][0]
    del entry["groups"]
    del entry["vulnerabilities"][0]["id"]
    report = tmp_path / "osv.json"
    report.write_text(json.dumps(doc), encoding="utf-8")
    assert _refused(make_project(tmp_path), report).endswith("results[1].packages[0]: an advisory has no id")


def test_a_report_without_groups_still_counts_each_advisory(tmp_path: Path) -> None:
    """Control: before osv-scanner wrote groups, each advisory was its own row; that reading stays."""
    doc = _report()
    for source in doc["results"]:
        for entry in source["packages"]:
            del entry["groups"]
    report = tmp_path / "osv.json"
    report.write_text(json.dumps(doc), encoding="utf-8")
    code, check = _dependencies(tmp_path, report)
    assert code == 0 and check["status"] == "fail"
    assert all(vuln_id in check["message"] for _package, vuln_id in _advisories(doc)), check["message"]
