"""pip-audit JSON report (`pip-audit -f json`).

pip-audit lists every dependency it looked at; one it could not audit (not on PyPI, a local path,
...) carries `skip_reason` instead of `vulns`. Those are recorded as skipped and excluded from
`audited`, because a package nobody checked is not a clean package. pip-audit never rates
severity, so every vulnerability it reports is unrated (see vulnerabilities.py).
"""

from __future__ import annotations

import re
from typing import Any

from readypolicy.evidence.formats.shape import mapping, optional_text, strings, text
from readypolicy.evidence.formats.vulnerabilities import dependencies_data, skipped, vulnerability
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_SKIPPED_VERSION = re.compile(r"\(([^()\s]+)\)\s*$")
"""pip-audit names the skipped version only inside the reason: `... could not be audited: idna (2.7)`."""


class PipAuditJson(Normalizer):
    """pip-audit JSON → `dependencies` evidence."""

    kind = "dependencies"
    format = "pip-audit-json"
    description = "pip-audit JSON (pip-audit -f json); skipped dependencies kept apart from audited ones"
    priority = 20

    def detect(self, artifact: Artifact) -> bool:
        body = artifact.text_or_empty
        return artifact.looks_like_json() and '"dependencies"' in body and (
            '"vulns"' in body or '"skip_reason"' in body or '"fixes"' in body
        ) and '"bomFormat"' not in body

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        # pip-audit 1.x wrote the dependency list itself; 2.x wraps it with the applied fixes.
        deps = doc.get("dependencies") if isinstance(doc, dict) else doc
        if not isinstance(deps, list):
            raise self.fail(artifact, "no 'dependencies' list")
        vulns: list[dict[str, Any]] = []
        skipped_deps: list[dict[str, Any]] = []
        audited = 0
        for index, dep in enumerate(deps):
            if not isinstance(dep, dict) or not text(dep.get("name")):
                raise self.fail(artifact, "a dependency has no name")
            name, version = text(dep["name"]), optional_text(dep.get("version"))
            if "skip_reason" in dep:
                reason = text(dep["skip_reason"])
                match = _SKIPPED_VERSION.search(reason)
                skipped_deps.append(skipped(name, version or (match.group(1) if match else None), reason))
                continue
            if not isinstance(dep.get("vulns"), list):
                raise self.fail(artifact, f"dependencies[{index}] has neither 'vulns' nor 'skip_reason'")
            audited += 1
            for vuln in map(mapping, dep["vulns"]):
                vuln_id = text(vuln.get("id"))
                if not vuln_id:
                    raise self.fail(artifact, f"a vulnerability of dependencies[{index}] has no id")
                vulns.append(vulnerability(
                    vuln_id, name, version, fix_versions=strings(vuln.get("fix_versions")),
                    aliases=strings(vuln.get("aliases")),
                ))
        warnings = (f"{len(skipped_deps)} dependencies were not audited (see 'skipped')",) if skipped_deps else ()
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("pip-audit"),
            data=dependencies_data("pip-audit", audited, vulns, skipped_deps), warnings=warnings,
        )


NORMALIZER = PipAuditJson()
