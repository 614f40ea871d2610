"""OSV-Scanner JSON report (`osv-scanner scan --format json`).

OSV-Scanner groups the advisories that describe one flaw (a GHSA, a PYSEC and a CVE id) and its
table prints one row per group, so a group is one vulnerability here: the first id names it and
the others become aliases. The group's `max_severity` is a CVSS score; without one, the
advisory's own rating word (`database_specific.severity`) is used, else it is unrated.
"""

from __future__ import annotations

from typing import Any

from readypolicy.evidence.formats.findings import score
from readypolicy.evidence.formats.shape import items, mapping, optional_text, strings, text
from readypolicy.evidence.formats.vulnerabilities import dependencies_data, vulnerability
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer


class OsvScannerJson(Normalizer):
    """OSV-Scanner JSON → `dependencies` evidence."""

    kind = "dependencies"
    format = "osv-scanner-json"
    description = "OSV-Scanner JSON (osv-scanner --format json): one vulnerability per alias group"
    priority = 20

    def detect(self, artifact: Artifact) -> bool:
        body = artifact.text_or_empty
        return artifact.looks_like_json() and '"results"' in body and '"source"' in body and (
            '"packages"' in body or '"results": []' in body
        ) and '"check_id"' not in body and '"runs"' not in body

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
            raise self.fail(artifact, "no 'results' list")
        vulns: list[dict[str, Any]] = []
        packages: set[tuple[str, str, str]] = set()
        listed_all = False
        for position, source in enumerate(map(mapping, doc["results"])):
            for number, entry in enumerate(map(mapping, items(source.get("packages")))):
                package = mapping(entry.get("package"))
                name, version = text(package.get("name")), text(package.get("version"))
                if not name:
                    raise self.fail(artifact, "a package has no name")
                packages.add((text(package.get("ecosystem")), name, version))
                advisories = [mapping(v) for v in items(entry.get("vulnerabilities"))]
                if problem := _ungrouped(advisories, items(entry.get("groups"))):
                    raise self.fail(artifact, f"results[{position}].packages[{number}]: {problem}")
                listed_all = listed_all or not advisories
                vulns.extend(_grouped(name, version or None, advisories, items(entry.get("groups"))))
        return Normalized(
            kind=self.kind, format=self.format, producer=Producer("osv-scanner"),
            data=dependencies_data("osv-scanner", len(packages), vulns, audited_complete=listed_all),
            warnings=() if listed_all else ("osv-scanner lists only vulnerable packages here; 'audited' counts only those",),
        )


def _ungrouped(advisories: list[dict[str, Any]], groups: list[Any]) -> str | None:
    """Why some advisory of a package would be in no row, or None when every one is.

    A group is one row and an advisory outside every group would be counted nowhere. osv-scanner
    puts each advisory in exactly one group (its own code indexes the group of every advisory), so
    a report holding one outside them all, or one without an id, was not written as osv-scanner
    writes it.
    """
    ids = [text(advisory.get("id")) for advisory in advisories]
    if not all(ids):
        return "an advisory has no id"
    if not groups:
        return None  # before groups existed: each advisory is its own row
    grouped = {vuln_id for group in groups for vuln_id in strings(mapping(group).get("ids"))}
    outside = sum(1 for vuln_id in ids if vuln_id not in grouped)
    return f"{outside} advisory(ies) in no group: osv-scanner puts each in one, so they would count nowhere" if outside else None


def _grouped(name: str, version: str | None, advisories: list[dict[str, Any]], groups: list[Any]) -> list[dict[str, Any]]:
    """One vulnerability per alias group (each advisory its own group when the report has none)."""
    by_id = {text(a.get("id")): a for a in advisories if text(a.get("id"))}
    rows = [(strings(mapping(g).get("ids")), mapping(g)) for g in groups]
    if not rows:
        rows = [([vuln_id], {}) for vuln_id in by_id]
    result = []
    for ids, group in rows:
        if not ids:
            continue
        members = [by_id[i] for i in ids if i in by_id]
        cvss = score(group.get("max_severity"))
        word = next((mapping(a.get("database_specific")).get("severity") for a in members
                     if mapping(a.get("database_specific")).get("severity")), None)
        aliases = {*ids, *strings(group.get("aliases"))}
        for advisory in members:
            aliases.update(strings(advisory.get("aliases")))
        result.append(vulnerability(
            ids[0], name, version, word=None if cvss is not None else word, cvss=cvss,
            fix_versions=[fix for a in members for fix in _fixed(a, name)], aliases=aliases,
        ))
    return result


def _fixed(advisory: dict[str, Any], name: str) -> list[str]:
    """Versions that fix the advisory for this package (`affected[].ranges[].events[].fixed`)."""
    fixes: list[str] = []
    for affected in map(mapping, items(advisory.get("affected"))):
        if text(mapping(affected.get("package")).get("name")).lower() != name.lower():
            continue
        for range_ in map(mapping, items(affected.get("ranges"))):
            fixes.extend(optional_text(mapping(e).get("fixed")) or "" for e in items(range_.get("events")))
    return fixes


NORMALIZER = OsvScannerJson()
