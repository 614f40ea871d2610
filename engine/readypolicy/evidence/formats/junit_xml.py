"""JUnit XML as written by pytest, Maven Surefire, mypy and most CI test runners.

Totals are counted from the `<testcase>` elements, not from the suite attributes: producers disagree
on whether `tests` includes skipped cases, and hand-assembled files often leave the attributes stale.
pytest marks expected failures as `<skipped type="pytest.xfail">`; those are counted as `xfailed`,
not as skips, so a policy can tell "not run" from "known broken". JUnit XML cannot express an
unexpected pass (pytest writes a non-strict XPASS as a plain pass), so `xpassed` stays 0 here.

mypy's report is one test case whose failure text holds every message (`file:line: error: ...`):
the totals say only "1 failed", so for mypy the error count and the number of files with errors
are read from that text into `type_check` (what `Found N errors in M files` says on the console).
"""

from __future__ import annotations

import math
import re
from typing import Any
from xml.etree.ElementTree import Element

from readypolicy.evidence.formats import stamps
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

MAX_FAILED_CASES = 100
_MYPY_ERROR = re.compile(r"^(?P<file>[^\s:][^:]*):\d+(?::\d+)?: error: ", re.MULTILINE)


class JunitXml(Normalizer):
    """JUnit XML → `tests` evidence."""

    kind = "tests"
    format = "junit-xml"
    description = "JUnit XML (pytest --junit-xml, Maven Surefire, mypy --junit-xml, ...)"

    def detect(self, artifact: Artifact) -> bool:
        return artifact.looks_like_xml() and ("<testsuite" in artifact.head or "<testsuites" in artifact.head)

    def normalize(self, artifact: Artifact) -> Normalized:
        root = artifact.xml()
        if root.tag == "testsuites":
            suites = list(root.iter("testsuite"))
        elif root.tag == "testsuite":
            suites = [root, *(s for s in root.iter("testsuite") if s is not root)]
        else:
            raise self.fail(artifact, "the root element is neither <testsuites> nor <testsuite>")
        totals = dict.fromkeys(("tests", "passed", "failed", "errors", "skipped", "xfailed", "xpassed"), 0)
        suite_rows: list[dict[str, Any]] = []
        failed_cases: list[dict[str, Any]] = []
        duration = 0.0
        for suite in suites:
            row: dict[str, Any] = {"name": suite.get("name", ""), "tests": 0, "failed": 0, "errors": 0, "skipped": 0}
            for case in suite.findall("testcase"):
                outcome = _outcome(case)
                totals["tests"] += 1
                totals[outcome] += 1
                row["tests"] += 1
                if outcome in ("failed", "errors", "skipped"):
                    row[outcome] += 1
                if outcome in ("failed", "errors") and len(failed_cases) < MAX_FAILED_CASES:
                    failed_cases.append(_failed_case(suite, case, outcome))
            duration += _float(suite.get("time"))
            suite_rows.append(row)
        if root.tag == "testsuites" and root.get("time"):
            duration = _float(root.get("time"))
        producer = _producer(root, suites)
        data: dict[str, Any] = {"totals": totals, "duration_s": round(duration, 6), "suites": suite_rows,
                                "failed_cases": failed_cases}
        if producer.tool == "mypy":
            data["type_check"] = _mypy_counts(suites)
        return Normalized(
            kind=self.kind, format=self.format, producer=producer, data=data, collected_at=_timestamp(suites),
        )


def _outcome(case: Element) -> str:
    """One of passed/failed/errors/skipped/xfailed/xpassed for a testcase element."""
    if case.find("failure") is not None:
        return "failed"
    if case.find("error") is not None:
        return "errors"
    skipped = case.find("skipped")
    if skipped is not None:
        return "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
    return "passed"


def _failed_case(suite: Element, case: Element, outcome: str) -> dict[str, Any]:
    element = case.find("failure") if outcome == "failed" else case.find("error")
    message = (element.get("message") if element is not None else None) or ""
    return {
        "suite": suite.get("name", ""),
        "classname": case.get("classname", ""),
        "name": case.get("name", ""),
        "outcome": "failed" if outcome == "failed" else "error",
        "message": " ".join(message.split())[:500],
    }


def _mypy_counts(suites: list[Element]) -> dict[str, int]:
    """mypy's error count and files with errors, from the `file:line: error:` lines of its failure texts."""
    files: list[str] = []
    for suite in suites:
        for failure in suite.iter("failure"):
            files += [match["file"] for match in _MYPY_ERROR.finditer(failure.text or "")]
    return {"errors": len(files), "files_with_errors": len(set(files))}


def _float(value: str | None) -> float:
    """A duration in seconds; unreadable, negative, NaN or infinite values count as 0."""
    try:
        number = float(value or 0)
    except ValueError:
        return 0.0
    return number if math.isfinite(number) and number > 0 else 0.0


def _timestamp(suites: list[Element]) -> str | None:
    """The earliest suite start (naive Ant-style stamps are taken as UTC); unreadable stamps are ignored."""
    moments = [stamp for s in suites if (stamp := stamps.iso(s.get("timestamp")))]
    return min(moments) if moments else None


def _producer(root: Element, suites: list[Element]) -> Producer:
    first = suites[0] if suites else root
    name = first.get("name", "")
    if name == "pytest":
        return Producer("pytest")
    if name == "mypy":
        return Producer("mypy")
    schema = next((v for k, v in first.attrib.items() if k.endswith("noNamespaceSchemaLocation")), "")
    if "surefire" in schema or first.find("properties/property[@name='surefire.test.class.path']") is not None:
        # Surefire's `version` attribute is the report schema's version (3.0.2 from plugin 3.5.4), not the plugin's.
        return Producer("maven-surefire")
    return Producer("junit")


NORMALIZER = JunitXml()
