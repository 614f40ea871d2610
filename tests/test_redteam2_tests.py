"""Red-team round 2: a test suite that ran nothing must not meet the lane's tests_min.

`tests_min` once counted every `<testcase>`, skipped and expected-to-fail ones included, so a real
pytest run that skipped (or xfailed) its whole suite read "0 passed, 3 skipped, none failed" and
passed tests.unit. Each report here comes from a real pytest run; what ran is counted from the raw
XML with ElementTree (a case with no `<skipped>` child), never from the normalizer.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from policy_project import Project, make_project
from test_governance import _check

EVAL = ("--module", "payments", "--lane", "candidate", "--revision", "abc", "--no-record")


def _junit_of(tmp_path: Path, source: str) -> tuple[Path, int, int]:
    """Run pytest on a one-file suite: its JUnit report, how many cases it holds and how many ran."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_suite.py").write_text(source, encoding="utf-8")
    report = tmp_path / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite), f"--junit-xml={report}"],
        cwd=suite, capture_output=True, check=True,
    )
    cases = list(ET.parse(report).getroot().iter("testcase"))
    ran = [case for case in cases if case.find("skipped") is None and case.find("failure") is None]
    return report, len(cases), len(ran)


def _unit_check(project: Project, report: Path) -> dict[str, Any]:
    """tests.unit of the candidate lane once `report` is the module's unit suite."""
    result = project.run("ingest", "--module", "payments", "--revision", "abc", "--scope", "unit", str(report))
    assert result.exit_code == 0, result.output
    [record] = project.eval_records(*EVAL)
    return _check(record, "tests.unit")


def test_a_unit_suite_whose_every_test_was_skipped_does_not_pass_tests_unit(tmp_path: Path) -> None:
    """Three tests, all skipped by a module-level mark: nothing ran, so "ran at least 1" does not hold."""
    report, cases, ran = _junit_of(
        tmp_path,
        "import pytest\n\n"
        "pytestmark = pytest.mark.skip(reason='database driver not installed')\n\n"
        "def test_a():\n    assert False\n\n"
        "def test_b():\n    assert False\n\n"
        "def test_c():\n    assert False\n",
    )
    assert (cases, ran) == (3, 0)
    unit = _unit_check(make_project(tmp_path), report)
    assert unit["status"] == "fail", unit["message"]
    assert unit["message"] == (
        f"unit tests: only {ran} of {cases} test(s) ran ({cases} skipped, 0 expected to fail); "
        "this lane requires at least 1"
    )


def test_a_unit_suite_of_only_expected_failures_does_not_pass_tests_unit(tmp_path: Path) -> None:
    """Two xfail tests: JUnit keeps them apart from skips, but an expected failure shows nothing passes."""
    report, cases, ran = _junit_of(
        tmp_path,
        "import pytest\n\n"
        "@pytest.mark.xfail(reason='not written yet')\n"
        "def test_a():\n    assert False\n\n"
        "@pytest.mark.xfail(reason='not written yet')\n"
        "def test_b():\n    assert False\n",
    )
    xfailed = [
        case for case in ET.parse(report).getroot().iter("testcase")
        if (skipped := case.find("skipped")) is not None and skipped.get("type") == "pytest.xfail"
    ]
    assert (cases, ran, len(xfailed)) == (2, 0, 2)
    unit = _unit_check(make_project(tmp_path), report)
    assert unit["status"] == "fail", unit["message"]
    assert unit["message"] == (
        f"unit tests: only 0 of {cases} test(s) ran (0 skipped, {len(xfailed)} expected to fail); "
        "this lane requires at least 1"
    )


def test_a_suite_where_enough_tests_ran_still_passes_beside_skips_and_xfails(tmp_path: Path) -> None:
    """One test ran and passed beside a skip and an xfail: the lane's tests_min of 1 is met, the
    pass message is the one a clean suite always had."""
    report, cases, ran = _junit_of(
        tmp_path,
        "import pytest\n\n"
        "def test_runs():\n    assert True\n\n"
        "@pytest.mark.skip(reason='needs a GPU')\n"
        "def test_skipped():\n    assert False\n\n"
        "@pytest.mark.xfail(reason='known bug')\n"
        "def test_known_bug():\n    assert False\n",
    )
    assert (cases, ran) == (3, 1)
    unit = _unit_check(make_project(tmp_path), report)
    assert unit["status"] == "pass", unit["message"]
    assert unit["message"] == f"unit tests: {ran} passed, 1 skipped, none failed"
