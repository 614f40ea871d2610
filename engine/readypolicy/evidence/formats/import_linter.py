"""import-linter text output (`lint-imports`, stdout).

The report lists every contract as `<name> KEPT` or `<name> BROKEN` and ends the list with
`Contracts: N kept, M broken.`; the names are read from the list and checked against that summary,
so a truncated or hand-edited report is refused rather than read as "nothing broken".
The banner and the details of broken contracts are ignored.
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
        summary = _SUMMARY.search(text or "")
        if text is None or summary is None:
            raise self.fail(artifact, "no 'Contracts: N kept, M broken.' summary line")
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
