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

import pytest

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


ALL_SKIPPED = (
    "import pytest\n\n"
    "pytestmark = pytest.mark.skip(reason='database driver not installed')\n\n"
    "def test_a():\n    assert False\n\n"
    "def test_b():\n    assert False\n\n"
    "def test_c():\n    assert False\n"
)
ALL_XFAIL = (
    "import pytest\n\n"
    "@pytest.mark.xfail(reason='not written yet')\n"
    "def test_a():\n    assert False\n\n"
    "@pytest.mark.xfail(reason='not written yet')\n"
    "def test_b():\n    assert False\n"
)


@pytest.mark.parametrize(
    "source", [ALL_SKIPPED, ALL_XFAIL],
    ids=["a unit suite whose every test was skipped", "a unit suite of only expected failures"],
)
def test_a_unit_suite_where_no_test_ran_does_not_pass_tests_unit(tmp_path: Path, source: str) -> None:
    """Every test skipped (a module-level mark) or expected to fail (xfail, which JUnit keeps apart from
    skips): nothing ran, so "ran at least 1" does not hold. Counts are read from the raw XML."""
    report, cases, ran = _junit_of(tmp_path, source)
    marks = [case.find("skipped") for case in ET.parse(report).getroot().iter("testcase")]
    xfailed = sum(1 for mark in marks if mark is not None and mark.get("type") == "pytest.xfail")
    skipped = sum(1 for mark in marks if mark is not None) - xfailed
    assert ran == 0 and cases == skipped + xfailed > 0
    unit = _unit_check(make_project(tmp_path), report)
    assert unit["status"] == "fail", unit["message"]
    assert unit["message"] == (
        f"unit tests: only 0 of {cases} test(s) ran ({skipped} skipped, {xfailed} expected to fail); "
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
