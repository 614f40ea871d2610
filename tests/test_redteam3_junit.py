"""Red-team round 3: JUnit XML whose failures are not all written as `<testcase>` children.

Totals were counted from `<testcase>` elements only, so two real shapes read as clean runs:
karma-junit-reporter marks a browser that errored (an exception in `afterAll`, a script error) or
disconnected with `errors="1"` on the suite and writes no element for it, and Apache Ant's
formatter appends an error no test owns (a failing class-level fixture) to `<testsuite>` itself.
A suite-level `<failure>`/`<error>` now counts as one errored case; a suite whose `failures` +
`errors` exceed the elements it holds is refused at ingest. And pytest-rerunfailures writes every
attempt of a rerun test as its own `<testcase>` (the failed attempts empty, so they read as passes):
one flaky test made four passes and met a `tests_min` of 3. A test's pass now counts once.
GoogleTest and CTest write a disabled test as a `<testcase>` with `status="notrun"`/`"disabled"`
and no child element, so a suite whose every test was disabled read as all passed; those are skips
now. Expected counts are read from the raw XML with ElementTree, never from the normalizer.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from policy_project import MANIFEST, make_project
from support import FIXTURES
from test_normalizers_security import ingest
from test_redteam2_tests import _unit_check
from test_redteam_ingest import _refused

VARIANTS = FIXTURES / "junit-variants"


def _stated_and_held(suite: ET.Element) -> tuple[int, int]:
    """(failures + errors the suite's attributes state, <failure>/<error> elements below it)."""
    stated = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    return stated, len(list(suite.iter("failure"))) + len(list(suite.iter("error")))


def test_a_karma_run_whose_browser_errored_does_not_pass(tmp_path: Path) -> None:
    """karma-junit-reporter's own output for a run whose `afterAll` threw: every testcase passed,
    the suite says `errors="1"`. Before: ingested as 3 passed and tests.unit passed."""
    report = VARIANTS / "karma-afterall-error.xml"
    suite = ET.parse(report).getroot()
    cases = suite.findall("testcase")
    assert suite.tag == "testsuite" and _stated_and_held(suite) == (1, 0)
    assert len(cases) == 3 and all(len(case) == 0 for case in cases)
    line = _refused(make_project(tmp_path), report, "--scope", "unit")
    assert line.endswith(
        f"<testsuite name={suite.get('name')!r}> says 1 test(s) failed or errored but holds 0 <failure>/<error> "
        "element(s): the report leaves out what failed"), line


def test_a_suite_level_error_outside_any_testcase_does_not_pass(tmp_path: Path) -> None:
    """Ant's shape: three passing cases and an `<error>` child of `<testsuite>` (a fixture's tearDown
    threw). Before: 3 passed, none failed. Now the error is one errored case of four."""
    report = VARIANTS / "ant-suite-error.xml"
    suite = ET.parse(report).getroot()
    own = [child for child in suite if child.tag in ("failure", "error")]
    cases = suite.findall("testcase")
    assert (len(own), len(cases), _stated_and_held(suite)) == (1, 3, (1, 1))
    unit = _unit_check(make_project(tmp_path), report)
    assert (unit["status"], unit["message"]) == (
        "fail", f"unit tests: {len(own)} of {len(cases) + len(own)} failed or errored"), unit["message"]


def _passed_tests(suite: ET.Element) -> tuple[int, int]:
    """(passing `<testcase>` elements, distinct classname + name among them), from the raw XML."""
    passing = [(case.get("classname"), case.get("name")) for case in suite.iter("testcase") if len(case) == 0]
    return len(passing), len(set(passing))


def test_a_rerun_tests_attempts_do_not_pass_tests_min(tmp_path: Path) -> None:
    """pytest-rerunfailures' own report of one test that passed on its fourth attempt (pytest:
    "1 passed, 3 rerun"): with the manifest's tests_min of 3, four empty `<testcase>` elements of
    that one test passed tests.unit as "4 passed". It is one test."""
    report = VARIANTS / "pytest-rerunfailures.xml"
    [suite] = ET.parse(report).getroot().iter("testsuite")
    elements, tests = _passed_tests(suite)
    assert (elements, tests, suite.get("tests")) == (4, 1, "1")
    project = make_project(tmp_path)
    manifest = project.root / "module.lane.yaml"
    manifest.write_text(MANIFEST.replace("COVERAGE_MIN", "75").replace(
        "coverage_line_min: 75}", "coverage_line_min: 75, tests_min: 3}"), encoding="utf-8")
    assert "tests_min: 3" in manifest.read_text(encoding="utf-8")
    assert project.run("ingest", "--module", "payments", "--revision", "abc", str(manifest)).exit_code == 0
    unit = _unit_check(project, report)
    assert (unit["status"], unit["message"]) == (
        "fail", f"unit tests: only {tests} of {tests} test(s) ran (0 skipped, 0 expected to fail); "
        "this lane requires at least 3"), unit["message"]


def test_real_pytest_reports_with_two_elements_for_one_test_are_not_refused(tmp_path: Path) -> None:
    """pytest writes a call failure plus a teardown error as two testcases of one name, and a setup
    error plus a teardown error as two `<error>` elements of one case; its `failures`/`errors` count
    those elements, so the guard refuses none of them and the run fails as it should."""
    suite_dir = tmp_path / "suite"
    suite_dir.mkdir()
    (suite_dir / "test_fixtures.py").write_text(
        "import pytest\n\n"
        "@pytest.fixture\ndef broken_setup():\n    raise RuntimeError('setup broke')\n\n"
        "@pytest.fixture\ndef broken_teardown():\n    yield\n    raise RuntimeError('teardown broke')\n\n"
        "def test_call_and_teardown(broken_teardown):\n    assert False\n\n"
        "def test_setup_and_teardown(broken_teardown, broken_setup):\n    pass\n\n"
        "def test_ok():\n    pass\n",
        encoding="utf-8",
    )
    report = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite_dir),
                    f"--junit-xml={report}"], cwd=suite_dir, capture_output=True, check=False)
    [suite] = ET.parse(report).getroot().iter("testsuite")
    stated, held = _stated_and_held(suite)
    assert stated == held > 0
    cases = suite.findall("testcase")
    failing = sum(1 for case in cases if case.find("failure") is not None or case.find("error") is not None)
    unit = _unit_check(make_project(tmp_path), report)
    assert (unit["status"], unit["message"]) == (
        "fail", f"unit tests: {failing} of {len(cases)} failed or errored"), unit["message"]


def _never_ran(case: ET.Element) -> bool:
    """A case that says it was not run: a `<skipped>` child, or (GoogleTest, CTest) only its status."""
    return case.find("skipped") is not None or case.get("status") in ("notrun", "disabled")


def test_a_googletest_suite_whose_every_test_is_disabled_does_not_pass(tmp_path: Path) -> None:
    """GoogleTest's own report of three `DISABLED_` tests ("Running 0 tests", exit 0). Before: tests.unit
    passed as "unit tests: 3 passed, 0 skipped, none failed"."""
    report = VARIANTS / "gtest-disabled.xml"
    cases = list(ET.parse(report).getroot().iter("testcase"))
    assert len(cases) == 3 and all(len(case) == 0 and _never_ran(case) for case in cases)
    unit = _unit_check(make_project(tmp_path), report)
    assert (unit["status"], unit["message"]) == (
        "fail", f"unit tests: only 0 of {len(cases)} test(s) ran ({len(cases)} skipped, 0 expected to fail); "
        "this lane requires at least 1"), unit["message"]


@pytest.mark.parametrize("name", ["gtest-mixed.xml", "ctest-disabled.xml"])
def test_disabled_tests_are_stored_as_skips_not_passes(tmp_path: Path, name: str) -> None:
    """Beside real passes and real `<skipped>` cases, a disabled test (no child, only its status) is
    stored as a skip: the totals equal what the raw XML says ran and did not."""
    cases = list(ET.parse(VARIANTS / name).getroot().iter("testcase"))
    not_run = sum(1 for case in cases if _never_ran(case))
    status_only = sum(1 for case in cases if case.find("skipped") is None and _never_ran(case))
    assert status_only == 1 and not any(case.find("failure") is not None for case in cases)
    totals = ingest(tmp_path, VARIANTS / name, "--scope", "unit")["data"]["totals"]
    assert (totals["tests"], totals["passed"], totals["skipped"]) == (len(cases), len(cases) - not_run, not_run)
