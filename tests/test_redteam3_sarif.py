"""Red-team round 3: a SARIF report whose tool could not read a file, or crashed, is not a clean scan.

bandit's SARIF formatter puts every file it could not parse (a syntax error, an unreadable file)
in `invocations[].toolConfigurationNotifications` at level `error`, writes `results: []` and
exits 0; its JSON formatter lists the same file under `errors`. Only `toolExecutionNotifications`
were counted, so the SARIF form of the run passed security.sast while the JSON form of the very
same run failed it. SARIF §3.20.14 also says `executionSuccessful: false` when "the tool failed to
execute properly": such a run was judged on whatever results it left. Counts are read here from
the raw reports with json; the real bandit outputs are in tests/fixtures/sast-scanned/.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from policy_project import make_project
from test_redteam_sast import SCANS, _raw, _sast, _semgrep_files

UNPARSED_SARIF = SCANS / "bandit-unparsed.sarif"


def _error_notifications(invocation: dict[str, Any]) -> int:
    """Error-level notifications of an invocation, of either kind, as the raw SARIF holds them."""
    return sum(1 for key in ("toolExecutionNotifications", "toolConfigurationNotifications")
               for note in invocation.get(key, []) if note.get("level") == "error")


@pytest.mark.parametrize("report", ["bandit-unparsed.sarif", "bandit-unparsed.json"])
def test_a_bandit_sarif_whose_file_could_not_be_parsed_does_not_pass(tmp_path: Path, report: str) -> None:
    """The real reports of one bandit run (exit 0): the SARIF one names the unparsed file in a
    configuration notification, the JSON one under `errors`. Beside a clean semgrep scan, either
    form fails security.sast on the file bandit never read (before: the SARIF form passed)."""
    [run] = _raw(UNPARSED_SARIF)["runs"]
    [invocation] = run["invocations"]
    unparsed = _error_notifications(invocation)
    assert (run["results"], invocation["executionSuccessful"], unparsed) == ([], True, 1)
    assert len(_raw(SCANS / "bandit-unparsed.json")["errors"]) == unparsed
    sast = _sast(make_project(tmp_path), SCANS / report, SCANS / "semgrep-clean.json")
    assert (sast["status"], sast["message"]) == (
        "fail", f"scanners reported {unparsed} scan error(s): unscanned files are not clean files"), sast["message"]


def test_a_sarif_run_that_did_not_execute_successfully_does_not_pass(tmp_path: Path) -> None:
    """A scanner that crashed but wrote its SARIF (`executionSuccessful: false`, no notification,
    `results: []`) is a scan error, not a clean scan."""
    crashed = copy.deepcopy(_raw(UNPARSED_SARIF))
    [invocation] = crashed["runs"][0]["invocations"]
    del invocation["toolConfigurationNotifications"]
    invocation["executionSuccessful"] = False
    path = tmp_path / "bandit-crashed.sarif"
    path.write_text(json.dumps(crashed), encoding="utf-8")
    assert _error_notifications(invocation) == 0 and crashed["runs"][0]["results"] == []
    sast = _sast(make_project(tmp_path), path, SCANS / "semgrep-clean.json")
    assert (sast["status"], sast["message"]) == (
        "fail", "scanners reported 1 scan error(s): unscanned files are not clean files"), sast["message"]


def test_a_sarif_run_that_executed_successfully_with_warnings_still_passes(tmp_path: Path) -> None:
    """Warning-level notifications (semgrep's partial parses) and `executionSuccessful: true` are
    not scan errors: the guard does not fail every SARIF file that says anything."""
    clean = copy.deepcopy(_raw(UNPARSED_SARIF))
    [invocation] = clean["runs"][0]["invocations"]
    for note in invocation["toolConfigurationNotifications"]:
        note["level"] = "warning"
    path = tmp_path / "bandit-warned.sarif"
    path.write_text(json.dumps(clean), encoding="utf-8")
    sast = _sast(make_project(tmp_path), path, SCANS / "semgrep-clean.json")
    assert sast["status"] == "pass", sast["message"]



def _bandit_sarif_metrics(path: Path) -> tuple[int, int]:
    """(files, lines of code) bandit's SARIF run states in `properties.metrics`, read with json."""
    [run] = _raw(path)["runs"]
    metrics = run["properties"]["metrics"]
    return len(set(metrics) - {"_totals"}), metrics["_totals"]["loc"]


@pytest.mark.parametrize(("report", "message"), [
    ("bandit-empty.sarif", "bandit read no file"),
    ("bandit-empty-init.sarif", "bandit read no line of code"),
])
def test_a_bandit_sarif_of_no_source_does_not_pass(tmp_path: Path, report: str, message: str) -> None:
    """The earlier guard read bandit's count from its JSON only: the SARIF form of the same empty
    run (which keeps the count in `properties.metrics`) passed with "files scanned: bandit unknown"."""
    files, lines = _bandit_sarif_metrics(SCANS / report)
    assert (files == 0) == (message == "bandit read no file") and lines == 0
    assert _raw(SCANS / report)["runs"][0]["results"] == []
    sast = _sast(make_project(tmp_path), SCANS / report, SCANS / "semgrep-clean.json")
    assert (sast["status"], sast["message"]) == (
        "fail", f"{message}: a scan of nothing is not a clean scan"), sast["message"]


def test_a_bandit_sarif_of_real_source_names_its_file_count(tmp_path: Path) -> None:
    """A clean bandit SARIF of one real file passes and now names the count its metrics state."""
    files, lines = _bandit_sarif_metrics(SCANS / "bandit-clean.sarif")
    assert files > 0 and lines > 0
    sast = _sast(make_project(tmp_path), SCANS / "bandit-clean.sarif", SCANS / "semgrep-clean.json")
    assert sast["status"] == "pass", sast["message"]
    assert sast["message"].endswith(f"files scanned: bandit {files}, semgrep {_semgrep_files(SCANS / 'semgrep-clean.json')}")
