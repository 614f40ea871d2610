"""promtool `test rules --junit` reports (format promtool-junit) against the real promtool 3.16.0 output.

The key figures of every sample are checked by tests/test_registry_fixtures.py against an oracle;
these tests are the attacks on what the reader decides: a report that must not pass, a JUnit file
that must not be mistaken for rule tests, and stamps that must not crash ingest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from readypolicy.errors import ReadyPolicyError
from readypolicy.evidence.ingest import IngestOptions, build_record, normalize_path
from support import ARTIFACTS

PROMTOOL = ARTIFACTS / "promtool"


def _ingest(path: Path) -> dict[str, object]:
    artifact, normalized = normalize_path(path, IngestOptions(module="demo", revision="r1"))
    return build_record(artifact, normalized, "demo", "r1", None, "2026-12-01T00:00:00.000000Z").document


def _variant(tmp_path: Path, old: str, new: str, name: str = "test-rules.junit.xml") -> Path:
    """The real passing report with one piece replaced (variants are edits of real output)."""
    text = (PROMTOOL / "test-rules-pass.junit.xml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_real_reports_are_rule_tests_with_counts() -> None:
    passed = _ingest(PROMTOOL / "test-rules-pass.junit.xml")
    failed = _ingest(PROMTOOL / "test-rules-fail.junit.xml")
    assert (passed["format"], passed["kind"], passed["scope"]) == ("promtool-junit", "telemetry", "rule-tests")
    assert passed["data"]["passed"] is True and passed["data"]["tests"] == 1  # type: ignore[index]
    assert failed["data"]["passed"] is False and len(failed["data"]["failures"]) == 2  # type: ignore[index]


def test_one_failing_file_fails_a_report_of_several() -> None:
    """Real two-file run: the passing suite must not carry the failing one."""
    data = _ingest(PROMTOOL / "test-rules-both.junit.xml")["data"]
    assert data["files"] == [{"file": "rules_test.yml", "passed": True},  # type: ignore[index]
                             {"file": "rules_test_failing.yml", "passed": False}]
    assert (data["passed"], data["tests"]) == (False, 2)  # type: ignore[index]


def test_a_suite_without_test_cases_does_not_pass(tmp_path: Path) -> None:
    """promtool run on a test file with no tests must not read as a passing rule-test run."""
    data = _ingest(_variant(tmp_path, '<testcase name="unnamed#0"></testcase>', ""))["data"]
    assert data["passed"] is False and data["tests"] == 0  # type: ignore[index]
    assert data["failures"] == ["rules_test.yml: no test cases"]  # type: ignore[index]


def test_an_error_element_fails_like_a_failure(tmp_path: Path) -> None:
    path = _variant(tmp_path, "></testcase>", '><error message="rule file did not load"/></testcase>')
    data = _ingest(path)["data"]
    assert data["passed"] is False  # type: ignore[index]
    assert data["failures"] == ["rules_test.yml unnamed#0: rule file did not load"]  # type: ignore[index]


def test_ordinary_junit_is_not_taken_for_rule_tests() -> None:
    """pytest's suites are not named *.yml: they stay `tests` evidence."""
    assert _ingest(ARTIFACTS / "junit-xml" / "pytest-xunit2.xml")["format"] == "junit-xml"


@pytest.mark.parametrize("stamp", ["-1", "garbage", "2026-13-45T99:00", ""])
def test_an_unreadable_timestamp_is_dropped_not_a_crash(tmp_path: Path, stamp: str) -> None:
    """Found by the registry fuzzer: a bad stamp used to reach the envelope and raise ValueError."""
    document = _ingest(_variant(tmp_path, 'timestamp="2026-11-25T12:18:17"', f'timestamp="{stamp}"'))
    assert document["collected_at"] is None


def test_a_future_timestamp_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReadyPolicyError, match="future"):
        _ingest(_variant(tmp_path, 'timestamp="2026-11-25T12:18:17"', 'timestamp="2999-01-01T00:00:00"'))
