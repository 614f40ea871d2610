"""JUnit XML: one testsuite per decision, one testcase per check, for CI test-report views.

Every CI system renders JUnit, so a blocked promotion shows up where developers already look at
failing tests: a `fail` or `missing` check is a <failure>, a `waived` one is <skipped> with the
waiver as its message, a `pass` is a plain testcase. Decision identity (id, policy revision,
bundle sha256) travels as suite properties so a report can be traced back to its record.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree.ElementTree import Element, SubElement, indent, tostring  # nosec B405 - builds XML, never parses it

from readypolicy.records import CheckResult, DecisionRecord
from readypolicy.report.interface import ReportFormat, ordered_checks, printable, status_counts

FAILING = ("fail", "missing")


def _count(record: DecisionRecord, *statuses: str) -> int:
    return sum(1 for c in record["checks"] if c["status"] in statuses)


def _details(check: CheckResult) -> str:
    lines = [printable(check["message"])]
    if check.get("remediation"):
        lines.append(f"fix: {printable(check['remediation'])}")
    if check.get("evidence"):
        lines.append("evidence: " + ", ".join(check["evidence"]))
    return "\n".join(lines)


class JunitFormat(ReportFormat):
    """JUnit XML as Jenkins, GitLab and GitHub test reporters read it."""

    name = "junit"

    def render(self, records: Sequence[DecisionRecord]) -> str:
        root = Element("testsuites", {
            "name": "readypolicy",
            "tests": str(sum(len(r["checks"]) for r in records)),
            "failures": str(sum(_count(r, *FAILING) for r in records)),
            "errors": "0",
            "skipped": str(sum(_count(r, "waived") for r in records)),
            "time": "0",
        })
        for record in records:
            self._suite(root, record)
        indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode") + "\n"

    def _suite(self, root: Element, record: DecisionRecord) -> None:
        module, revision = record["subject"]["module"], record["subject"]["revision"]
        suite = SubElement(root, "testsuite", {
            "name": f"{module}@{revision} {record['lane']}",
            "tests": str(len(record["checks"])),
            "failures": str(_count(record, *FAILING)),
            "errors": "0",
            "skipped": str(_count(record, "waived")),
            "time": "0",
            "timestamp": record["evaluated_at"][:19],
        })
        properties = SubElement(suite, "properties")
        for name, value in (
            ("decision_id", record["decision_id"]),
            ("allow", str(record["allow"]).lower()),
            ("policy.revision", record["policy"]["revision"]),
            ("policy.digest", record["policy"]["digest"]),
            ("policy.bundle_sha256", record["policy"].get("bundle_sha256")),
            ("engine", f"{record['engine']['name']} {record['engine']['version']}"),
            *((f"summary.{status}", str(n)) for status, n in status_counts(record).items()),
        ):
            if value:
                SubElement(properties, "property", {"name": name, "value": value})
        for check in ordered_checks(record):
            case = SubElement(suite, "testcase", {
                "classname": f"{record['pack']}.{record['lane']}.{module}", "name": check["id"], "time": "0",
            })
            if check["status"] in FAILING:
                # printable: a control character in a quoted file name would make the whole file unreadable XML
                failure = SubElement(case, "failure", {"message": printable(check["message"]), "type": check["status"]})
                failure.text = _details(check)
            elif check["status"] == "waived":
                SubElement(case, "skipped", {"message": printable(check["message"])})
            elif check["status"] == "warn":
                SubElement(case, "system-out").text = f"WARN (advisory, does not block): {_details(check)}"
