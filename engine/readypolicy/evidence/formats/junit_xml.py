"""JUnit XML as written by pytest, Maven Surefire, mypy and most CI test runners.

Totals are counted from the `<testcase>` elements, not from the suite attributes: producers disagree
on whether `tests` includes skipped cases, and hand-assembled files often leave the attributes stale.
A case with no `<failure>`, `<error>` or `<skipped>` child is a pass unless its `status` says it never ran: GoogleTest
writes a `DISABLED_` test as `status="notrun"` and CTest a disabled one as `status="disabled"`,
neither with a `<skipped>` child, so those count as skipped, never as passes.
pytest marks expected failures as `<skipped type="pytest.xfail">`; those are counted as `xfailed`,
not as skips, so a policy can tell "not run" from "known broken". JUnit XML cannot express an
unexpected pass (pytest writes a non-strict XPASS as a plain pass), so `xpassed` stays 0 here.

One test written more than once in a suite (same classname and name: a rerun plugin's attempts,
a merged matrix) counts its pass once, and not at all beside a failure or error of its own,
so reruns do not make up a lane's `tests_min` (see `_distinct`).
A `<failure>` or `<error>` that is a child of `<testsuite>` itself (Ant's XMLJUnitResultFormatter
puts an error no test owns there: a class that did not load, a failing class-level fixture) counts
as one errored case named after its suite. A suite (or `<testsuites>`) whose `failures` plus
`errors` attributes exceed the `<failure>`/`<error>` elements it holds is refused: its producer
knew of failures it did not write as elements (karma-junit-reporter sets `errors="1"` when the
browser errored or disconnected, with no element), and counting the elements alone would read
that run as clean.

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
_FAILING = ("failure", "error")
_NOT_RUN = {"notrun", "disabled"}
"""`<testcase status=...>` values that say the test never ran, written without a `<skipped>` child:
GoogleTest's disabled tests (`notrun`, `result="suppressed"`) and CTest's (`disabled`)."""
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
        for element in ([root] if root.tag == "testsuites" else []) + suites:
            if (problem := _unwritten_failures(element)) is not None:
                raise self.fail(artifact, problem)
        for suite in suites:
            row: dict[str, Any] = {"name": suite.get("name", ""), "tests": 0, "failed": 0, "errors": 0, "skipped": 0}
            cases = _distinct([(case, _outcome(case)) for case in suite.findall("testcase")])
            cases += [(child, "errors") for child in suite if child.tag in _FAILING]
            for case, outcome in cases:
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
    return "skipped" if (case.get("status") or "").strip().lower() in _NOT_RUN else "passed"


def _distinct(cases: list[tuple[Element, str]]) -> list[tuple[Element, str]]:
    """The outcomes that count when one test (classname + name) appears more than once in a suite.

    pytest-rerunfailures writes every attempt as its own `<testcase>`, the failed ones empty (so they
    read as passes), and a matrix merged into one suite repeats every test: a pass counts once per
    test, and not at all beside a failure or error of the same test. Other outcomes all count
    (pytest writes a call failure and a teardown error of one test as two cases).
    """
    keys = [(case.get("classname", ""), case.get("name", "")) for case, _ in cases]
    failing = {key for key, (_, outcome) in zip(keys, cases, strict=True) if outcome in ("failed", "errors")}
    passed: set[tuple[str, str]] = set()
    kept = []
    for key, (case, outcome) in zip(keys, cases, strict=True):
        if outcome == "passed":
            if key in failing or key in passed:
                continue
            passed.add(key)
        kept.append((case, outcome))
    return kept


def _unwritten_failures(element: Element) -> str | None:
    """Why a suite's own counts say more failed than its elements show, or None when they do not.

    Attributes and elements are compared as one sum (`failures` + `errors` against `<failure>` +
    `<error>` elements anywhere below), so producers that file an exception under the other
    attribute, nest suites or write several elements for one test are not refused.
    """
    stated = sum(_count(element.get(attribute)) for attribute in ("failures", "errors"))
    held = sum(1 for tag in _FAILING for _ in element.iter(tag))
    if stated <= held:
        return None
    name = element.get("name", "")
    return (f"<{element.tag}{f' name={name!r}' if name else ''}> says {stated} test(s) failed or errored "
            f"but holds {held} <failure>/<error> element(s): the report leaves out what failed")


def _count(value: str | None) -> int:
    """A suite's count attribute; absent or unreadable counts state nothing (0)."""
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


def _failed_case(suite: Element, case: Element, outcome: str) -> dict[str, Any]:
    """The report row of a failed or errored case; a suite-level `<failure>`/`<error>` is its own case."""
    if case.tag in _FAILING:
        element: Element | None = case
        classname, name = suite.get("name", ""), ""
    else:
        element = case.find("failure") if outcome == "failed" else case.find("error")
        classname, name = case.get("classname", ""), case.get("name", "")
    message = (element.get("message") if element is not None else None) or ""
    return {
        "suite": suite.get("name", ""),
        "classname": classname,
        "name": name,
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
