"""promtool `test rules --junit=FILE` output: the rule-test verdicts with a count of test cases.

promtool's text output never says how many tests ran, and "every alerting rule has a test" cannot be
judged without that count; its JUnit report has one `<testsuite>` per rule-test file (named after
the YAML file) and one `<testcase>` per test group. It is told apart from ordinary test results by
the suite names: every suite is a `.yml`/`.yaml` file, which is how promtool names them.
promtool stamps suites with a local time without offset; like other JUnit stamps it is read as UTC,
and an unreadable stamp is dropped rather than failing the report.
"""

from __future__ import annotations

from readypolicy.errors import ReadyPolicyError
from readypolicy.evidence.formats import stamps
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

MAX_FAILURES = 100
MAX_FAILURE_TEXT = 500


class PromtoolJunit(Normalizer):
    """promtool test rules JUnit → `telemetry` evidence (source rule-tests)."""

    kind = "telemetry"
    format = "promtool-junit"
    description = "promtool test rules --junit report (rule-test verdicts with test counts)"
    priority = 30

    def detect(self, artifact: Artifact) -> bool:
        if not (artifact.looks_like_xml() and "<testsuite" in artifact.head):
            return False
        try:
            suites = list(artifact.xml().iter("testsuite"))
        except ReadyPolicyError:  # detection must not raise; normalize reports the problem
            return False
        return bool(suites) and all(s.get("name", "").endswith((".yml", ".yaml")) for s in suites)

    def normalize(self, artifact: Artifact) -> Normalized:
        root = artifact.xml()
        suites = list(root.iter("testsuite"))
        if not suites:
            raise self.fail(artifact, "no <testsuite> elements")
        files: list[dict[str, object]] = []
        failures: list[str] = []
        tests = 0
        for suite in suites:
            name = suite.get("name", "")
            cases = suite.findall("testcase")
            tests += len(cases)
            bad = [(case, problem) for case in cases for problem in (*case.findall("failure"), *case.findall("error"))]
            files.append({"file": name, "passed": not bad and bool(cases)})
            if not cases:
                failures.append(f"{name}: no test cases")
            for case, problem in bad:
                if len(failures) < MAX_FAILURES:
                    text = " ".join((problem.get("message") or problem.text or "failed").split())
                    failures.append(f"{name} {case.get('name', '')}: {text}"[:MAX_FAILURE_TEXT])
        data = {
            "source": "rule-tests", "scope": "rule-tests",
            "passed": all(entry["passed"] for entry in files), "tests": tests,
            "failures": failures, "files": files,
        }
        moments = sorted(stamp for s in suites if (stamp := stamps.iso(s.get("timestamp"))))
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("promtool"), data=data,
            collected_at=moments[0] if moments else None,
        )


NORMALIZER = PromtoolJunit()
