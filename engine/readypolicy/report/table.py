"""Plain-text table for terminals: one block per decision, blocking checks first."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator, Sequence

from readypolicy.records import DecisionRecord
from readypolicy.report.interface import ReportFormat, ordered_checks, printable, status_counts

MARKS = {"pass": "PASS", "fail": "FAIL", "missing": "MISSING", "waived": "WAIVED", "warn": "WARN"}


class TableFormat(ReportFormat):
    """Human-readable verdicts."""

    name = "table"

    def render(self, records: Sequence[DecisionRecord]) -> str:
        return "\n".join(self._block(record) for record in records)

    def stream(self, records: Iterable[DecisionRecord]) -> Iterator[str]:
        for index, record in enumerate(records):
            yield ("\n" if index else "") + self._block(record)

    def _block(self, record: DecisionRecord) -> str:
        subject = record["subject"]
        verdict = "READY" if record["allow"] else "NOT READY"
        lines = [
            f"{subject['module']} @ {subject['revision']} -> {record['lane']}: {verdict}",
            f"  policy {record['pack']} {record['policy']['revision']} ({record['policy']['source']}), "
            f"opa {record['engine']['version']}, decision {record['decision_id'][:19]}",
        ]
        width = max((len(c["id"]) for c in record["checks"]), default=0)
        for check in ordered_checks(record):
            mark = MARKS.get(check["status"], check["status"].upper())
            head = f"  {mark:<8} {check['id']:<{width}}  "
            wrapped = textwrap.wrap(printable(check["message"]), width=max(40, 110 - len(head))) or [""]
            lines.append(head + wrapped[0])
            lines.extend(" " * len(head) + more for more in wrapped[1:])
            if check["status"] in ("fail", "missing", "warn") and check.get("remediation"):
                lines.append(" " * len(head) + f"fix: {printable(check['remediation'])}")
        counts = status_counts(record)
        lines.append("  " + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + "\n")
        return "\n".join(lines)
