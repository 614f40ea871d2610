"""Build an offline OSV database for osv-scanner from the osv.dev records shipped in osv-scanner's module.

osv-scanner's --offline mode reads <dir>/osv-scanner/<ecosystem>/all.zip (the layout of osv.dev's
export bucket, which cannot be reached from here). The records are real osv.dev advisories that
osv-scanner's own test data carries; only the PyPI ones are kept.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path


def main() -> None:
    module_dir, out = Path(sys.argv[1]), Path(sys.argv[2]) / "osv-scanner" / "PyPI"
    records: dict[str, dict] = {}
    for source in sorted(module_dir.glob("internal/remediation/testdata/*/vulns.json")):
        doc = json.loads(source.read_text())
        for vuln in doc if isinstance(doc, list) else doc.get("vulns", []):
            if any(a.get("package", {}).get("ecosystem") == "PyPI" for a in vuln.get("affected", [])):
                records[vuln["id"]] = vuln
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out / "all.zip", "w") as archive:
        for vuln_id, vuln in sorted(records.items()):
            archive.writestr(f"{vuln_id}.json", json.dumps(vuln))
    print(f"{len(records)} PyPI advisories: {', '.join(sorted(records))}")


if __name__ == "__main__":
    main()
