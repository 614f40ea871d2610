"""import-linter text output (`lint-imports`, stdout).

The report lists every contract as `<name> KEPT` or `<name> BROKEN` and ends the list with
`Contracts: N kept, M broken.`; the names are read from the list and checked against that summary,
so a truncated or hand-edited report is refused rather than read as "nothing broken".
The banner and the details of broken contracts are ignored.

A file holding more than one summary is refused: it is several runs appended together
(`lint-imports --config a.ini > out; lint-imports --config b.ini >> out`), and reading only the first
report let a later run's broken contracts go unread.
"""

from __future__ import annotations

import re

from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_SUMMARY = re.compile(r"^Contracts: (\d+) kept, (\d+) broken\.\s*$", re.MULTILINE)
_CONTRACT = re.compile(r"^(?P<name>\S.*?) (?P<verdict>KEPT|BROKEN)\s*$")


class ImportLinterText(Normalizer):
    """lint-imports output → `architecture` evidence."""

    kind = "architecture"
    format = "import-linter"
    description = "import-linter report (lint-imports stdout): contracts kept and broken"
    priority = 40

    def detect(self, artifact: Artifact) -> bool:
        text = artifact.text_or_empty
        return "\nContracts\n" in text and bool(_SUMMARY.search(text))

    def normalize(self, artifact: Artifact) -> Normalized:
        text = artifact.text
        summaries = list(_SUMMARY.finditer(text or ""))
        if text is None or not summaries:
            raise self.fail(artifact, "no 'Contracts: N kept, M broken.' summary line")
        if len(summaries) > 1:
            raise self.fail(artifact, f"{len(summaries)} 'Contracts: N kept, M broken.' summaries: several lint-imports "
                                      "reports in one file (ingest each run's report on its own)")
        summary = summaries[0]
        kept: list[str] = []
        broken: list[str] = []
        for line in text[: summary.start()].splitlines():
            match = _CONTRACT.match(line)
            if match:
                (kept if match["verdict"] == "KEPT" else broken).append(match["name"])
        expected_kept, expected_broken = int(summary[1]), int(summary[2])
        if (len(kept), len(broken)) != (expected_kept, expected_broken):
            raise self.fail(artifact, f"listed {len(kept)} kept / {len(broken)} broken contracts but the summary says "
                                      f"{expected_kept} / {expected_broken}")
        data = {"tool": "import-linter", "contracts_kept": len(kept), "contracts_broken": len(broken),
                "kept": kept, "broken": broken}
        return Normalized(kind=self.kind, format=self.format, producer=Producer("import-linter"), data=data)


NORMALIZER = ImportLinterText()
