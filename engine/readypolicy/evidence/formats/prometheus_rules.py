"""Prometheus rule files (the YAML `groups:` / `rules:` files Prometheus and promtool load).

Alerting rules without a `runbook_url` annotation are listed by name: an alert nobody knows how to
act on at 3 am is a readiness gap the policy can point at. The label names attached by rules are
collected so the policy can compare them with the manifest's allowed label sets. promtool's own
unit-test files (`rule_files:` / `tests:`) are not rule files and are not detected as such.
"""

from __future__ import annotations

import re
from typing import Any

from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_GROUPS_LINE = re.compile(r"^groups:\s*(?:#.*)?$", re.MULTILINE)
_RULE_LINE = re.compile(r"^\s*-?\s*(?:alert|record):\s", re.MULTILINE)


class PrometheusRules(Normalizer):
    """Prometheus rule file YAML → `telemetry` evidence (source rules)."""

    kind = "telemetry"
    format = "prometheus-rules"
    description = "Prometheus alerting/recording rule file (groups/rules YAML)"
    priority = 40

    def detect(self, artifact: Artifact) -> bool:
        text = artifact.text_or_empty
        # "groups:" in text: a plain substring test for the words `_GROUPS_LINE` needs, so most files skip its scan
        return (not artifact.looks_like_json() and "groups:" in text and bool(_GROUPS_LINE.search(text))
                and bool(_RULE_LINE.search(text)) and "rule_files:" not in text)

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.yaml()
        groups = doc.get("groups") if isinstance(doc, dict) else None
        if not isinstance(groups, list) or not groups:
            raise self.fail(artifact, "'groups' must be a non-empty list")
        alerting = recording = 0
        without_runbook: list[str] = []
        labels: set[str] = set()
        for position, group in enumerate(groups):
            if not isinstance(group, dict) or not isinstance(group.get("name"), str) or not isinstance(group.get("rules"), list):
                raise self.fail(artifact, f"group #{position} needs a 'name' and a 'rules' list")
            for index, rule in enumerate(group["rules"]):
                where = f"group #{position} rule #{index}"  # errors name positions, never the rule's text
                name = self._rule_name(artifact, where, rule)
                rule_labels = rule.get("labels") or {}
                annotations = rule.get("annotations") or {}
                if not isinstance(rule_labels, dict) or not isinstance(annotations, dict):
                    raise self.fail(artifact, f"{where}: 'labels' and 'annotations' must be mappings")
                labels.update(str(key) for key in rule_labels)
                if "alert" in rule:
                    alerting += 1
                    if not str(annotations.get("runbook_url") or "").strip():
                        without_runbook.append(name)
                else:
                    recording += 1
        data: dict[str, Any] = {
            "source": "rules", "scope": "rules", "groups": len(groups), "alerting_rules": alerting,
            "recording_rules": recording, "alerts_without_runbook": without_runbook, "labels": sorted(labels),
        }
        return Normalized(kind=self.kind, format=self.format, producer=Producer("prometheus-rules"), data=data)

    def _rule_name(self, artifact: Artifact, where: str, rule: Any) -> str:
        """The alert or record name; a rule must be exactly one of the two and have an expression."""
        if not isinstance(rule, dict) or ("alert" in rule) == ("record" in rule):
            raise self.fail(artifact, f"{where}: each rule needs exactly one of 'alert' or 'record'")
        name = rule.get("alert", rule.get("record"))
        if not isinstance(name, str) or not name or not isinstance(rule.get("expr"), str | int | float):
            raise self.fail(artifact, f"{where}: the rule lacks a name or an 'expr'")
        return name


NORMALIZER = PrometheusRules()
