"""Red-team finding: a static analysis of no file passed security.sast as a clean scan.

bandit and semgrep exit 0 with `results: []` when the folder they are pointed at holds no file
they read (a wrong `-r` folder, a source layout that moved, an ignore file excluding everything).
The normalizers now keep `files_scanned` when the report says it (bandit's `metrics` entries,
semgrep's `paths.scanned`, SARIF `analysisTarget` artifacts), bandit's `lines_scanned` (`_totals.loc`),
and security.sast fails a report that read no file, or no line of code. Expected counts are read
here from the raw reports with json, never from a normalizer. The real tool outputs are in
tests/fixtures/sast-scanned/ (SOURCES.md there says how each was made).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policy_project import Project, make_project
from support import ARTIFACTS, FIXTURES
from test_governance import _check
from test_normalizers_security import ingest, write_json

SCANS = FIXTURES / "sast-scanned"
EVAL = ("--module", "payments", "--lane", "candidate", "--revision", "abc", "--no-record")


def _raw(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _bandit_files(path: Path) -> int:
    """The files a bandit JSON report lists in `metrics`, `_totals` aside."""
    return len(set(_raw(path)["metrics"]) - {"_totals"})


def _semgrep_files(path: Path) -> int:
    return len(set(_raw(path)["paths"]["scanned"]))


def _sast(project: Project, *reports: Path) -> dict[str, Any]:
    """security.sast after ingesting `reports` for payments@abc (replacing the project's own bandit scan)."""
    result = project.run("ingest", "--module", "payments", "--revision", "abc", *map(str, reports))
    assert result.exit_code == 0, result.output
    [record] = project.eval_records(*EVAL)
    return _check(record, "security.sast")


def test_a_static_analysis_of_no_file_is_not_a_clean_scan(tmp_path: Path) -> None:
    """The red-team reproduction: a live bandit run and a real semgrep run on a folder holding only a README."""
    project = make_project(tmp_path)
    empty = tmp_path / "src" / "payments"
    empty.mkdir(parents=True)
    (empty / "README.md").write_text("moved to src/payments_core\n", encoding="utf-8")
    bandit = tmp_path / "bandit.json"
    subprocess.run([sys.executable, "-m", "bandit", "-r", str(empty), "-f", "json", "-o", str(bandit), "-q"],
                   check=True, capture_output=True)
    semgrep = SCANS / "semgrep-empty.json"
    assert (_raw(bandit)["results"], _bandit_files(bandit), _raw(bandit)["metrics"]["_totals"]["loc"]) == ([], 0, 0)
    assert (_raw(semgrep)["results"], _semgrep_files(semgrep)) == ([], 0)
    sast = _sast(project, bandit, semgrep)
    assert (sast["status"], sast["message"]) == (
        "fail", "bandit read no file, semgrep read no file: a scan of nothing is not a clean scan"), sast["message"]


@pytest.mark.parametrize(("bandit", "semgrep", "unscanned"), [
    ("bandit-empty.json", "semgrep-clean.json", "bandit"),
    ("bandit-clean.json", "semgrep-empty.json", "semgrep"),
])
def test_one_scanner_that_read_no_file_fails_beside_a_clean_scan(
    tmp_path: Path, bandit: str, semgrep: str, unscanned: str,
) -> None:
    """A real scan of real files by one scanner does not make up for the other scanner's scan of nothing."""
    sast = _sast(make_project(tmp_path), SCANS / bandit, SCANS / semgrep)
    assert (sast["status"], sast["message"]) == ("fail", f"{unscanned} read no file: a scan of nothing is not a clean scan")


def test_a_folder_left_with_an_empty_init_file_is_not_a_clean_scan(tmp_path: Path) -> None:
    """Both tools count an empty `__init__.py` as a file read; bandit's `loc` says no line of code was."""
    bandit, semgrep = SCANS / "bandit-empty-init.json", SCANS / "semgrep-empty-init.json"
    assert (_bandit_files(bandit), _raw(bandit)["metrics"]["_totals"]["loc"], _semgrep_files(semgrep)) == (1, 0, 1)
    sast = _sast(make_project(tmp_path), bandit, semgrep)
    assert (sast["status"], sast["message"]) == ("fail", "bandit read no line of code: a scan of nothing is not a clean scan")


def test_clean_scans_of_real_files_pass_and_say_how_many_files_each_read(tmp_path: Path) -> None:
    """The floor refuses only a scan of nothing: one clean file read by both scanners passes, with its counts."""
    bandit, semgrep = SCANS / "bandit-clean.json", SCANS / "semgrep-clean.json"
    assert (_raw(bandit)["results"], _raw(semgrep)["results"]) == ([], [])
    sast = _sast(make_project(tmp_path), bandit, semgrep)
    assert sast["status"] == "pass", sast["message"]
    assert sast["message"].endswith(
        f"; files scanned: bandit {_bandit_files(bandit)}, semgrep {_semgrep_files(semgrep)}"), sast["message"]
    assert (_bandit_files(bandit), _semgrep_files(semgrep)) == (1, 1)


@pytest.mark.parametrize(("report", "count"), [
    (ARTIFACTS / "bandit-json" / "bandit.json", _bandit_files),
    (SCANS / "bandit-empty.json", _bandit_files),
    (SCANS / "bandit-clean.json", _bandit_files),
    (SCANS / "bandit-empty-init.json", _bandit_files),
    (ARTIFACTS / "semgrep-json" / "semgrep.json", _semgrep_files),
    (SCANS / "semgrep-empty.json", _semgrep_files),
    (SCANS / "semgrep-clean.json", _semgrep_files),
], ids=lambda value: value.name if isinstance(value, Path) else "")
def test_files_scanned_is_the_number_of_files_the_report_lists(tmp_path: Path, report: Path, count: Any) -> None:
    """The stored evidence carries the count the raw report states, so the policy judges what the tool read."""
    data = ingest(tmp_path, report)["data"]
    assert data["files_scanned"] == count(report)
    metrics = _raw(report).get("metrics")  # bandit's lines of code; semgrep's report gives none
    assert data.get("lines_scanned") == (metrics["_totals"]["loc"] if metrics else None)


def test_a_scanned_list_padded_with_non_paths_does_not_count_as_files(tmp_path: Path) -> None:
    """Entries that are not file paths (numbers, empty strings) and repeats are not files read."""
    padded = _raw(SCANS / "semgrep-empty.json")
    padded["paths"]["scanned"] = [0, "", None, {"path": "a.py"}]
    data = ingest(tmp_path / "padded", write_json(tmp_path, "padded.json", padded))["data"]
    assert data["files_scanned"] == 0
    padded["paths"]["scanned"] = ["a.py", "a.py", 7]
    assert ingest(tmp_path / "repeated", write_json(tmp_path, "repeated.json", padded))["data"]["files_scanned"] == 1


def test_a_sarif_report_that_does_not_say_what_it_read_is_judged_as_before_and_named_unknown(tmp_path: Path) -> None:
    """semgrep's SARIF of a scan of nothing names no scanned file: the count is unknown, and the message says so.

    SARIF `artifacts` lists the files a run mentions (often only those with results), so its
    absence is no proof of a scan of nothing; gate on the JSON reports, which say what was read.
    """
    sarif = SCANS / "semgrep-empty.sarif"
    assert [run.get("artifacts") for run in _raw(sarif)["runs"]] == [None]
    assert "files_scanned" not in ingest(tmp_path / "shown", sarif)["data"]
    sast = _sast(make_project(tmp_path), SCANS / "bandit-clean.json", sarif)
    assert (sast["status"], sast["message"].rsplit("; ", 1)[-1]) == (
        "pass", f"files scanned: bandit {_bandit_files(SCANS / 'bandit-clean.json')}, semgrep unknown")


def test_sarif_counts_analysis_targets_only_when_every_run_names_them(tmp_path: Path) -> None:
    """`analysisTarget` artifacts are files read; an artifact without that role, or a run naming none, is no count."""
    sarif = _raw(ARTIFACTS / "sarif" / "semgrep.sarif")
    run = sarif["runs"][0]
    run["artifacts"] = [
        {"location": {"uri": "rpsample/pricing.py"}, "roles": ["analysisTarget"]},
        {"location": {"uri": "rpsample/runner.py"}, "roles": ["analysisTarget", "resultFile"]},
        {"location": {"uri": "rpsample/settings.py"}, "roles": ["resultFile"]},
    ]
    targets = sum("analysisTarget" in artifact["roles"] for artifact in run["artifacts"])
    data = ingest(tmp_path / "one", write_json(tmp_path, "one.sarif", sarif))["data"]
    assert data["files_scanned"] == targets == 2
    silent_run = copy.deepcopy(run)
    silent_run.pop("artifacts")
    sarif["runs"].append(silent_run)
    assert "files_scanned" not in ingest(tmp_path / "two", write_json(tmp_path, "two.sarif", sarif))["data"]
