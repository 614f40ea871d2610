"""Chaos Toolkit journal (`chaos run --journal-path FILE`).

A journal's `status` is "completed" whenever the run reached its end, including when the steady
state was already broken before the method ran (the method is then skipped and nothing was
tested). So a run counts as passed only when the steady-state hypothesis was met both before and
after the method, the run did not deviate, and it completed; aborted, failed and interrupted runs
never pass. Scenario slugs are the experiment's tags, slugified, in order.

A completed run whose method did not do what it says tested nothing either: Chaos Toolkit carries on
past an action that raised (its entry in `run` is `failed`) or a process action that exited non-zero
(chaoslib only warns), and a dry run (`chaos run --dry actions|probes|activities|pause`, recorded as
the experiment's `dry`) skips activities yet still reports the steady state met. Each such problem is
listed in `method_problems` and the run does not pass, so "the fault could not be injected" never
reads as "the system survived the fault".

The evidence slot (scope) is the experiment's title, slugified: a journal stands for one
experiment, and a later run of that experiment replaces the earlier one. Tags are shared by many
experiments (every experiment of a suite carries the suite's tag), so keying by a tag let a
passing experiment silently replace a deviated one that shared its first tag.
"""

from __future__ import annotations

import re
from typing import Any

from readypolicy.canonical import sha256_hex
from readypolicy.evidence.formats.stamps import iso
from readypolicy.evidence.interface import Artifact, Normalized, Normalizer, Producer

_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
_SCOPE_MAX = 64
"""Longest evidence scope the envelope schema allows."""


def slug(value: str) -> str:
    """Lowercase kebab-case slug (`Clock Skew` → `clock-skew`)."""
    return _SLUG_JUNK.sub("-", value.lower()).strip("-")


def experiment_scope(title: str) -> str:
    """The evidence slot of an experiment: its title slugified, fitted to the scope length limit.

    A title too long for a scope keeps its first words and gains a digest of the whole title, so
    two long titles that differ only at the end still get two slots.
    """
    name = slug(title)
    if len(name) <= _SCOPE_MAX:
        return name
    suffix = sha256_hex(title.encode("utf-8"))[:12]
    return f"{name[: _SCOPE_MAX - len(suffix) - 1].rstrip('-')}-{suffix}"


class ChaosToolkitJournal(Normalizer):
    """Chaos Toolkit journal JSON → `chaos` evidence."""

    kind = "chaos"
    format = "chaostoolkit-journal"
    description = "Chaos Toolkit journal (chaos run --journal-path): passed = steady state held before and after, no deviation"
    priority = 30

    def detect(self, artifact: Artifact) -> bool:
        head = artifact.head
        return head[:1] == "{" and '"chaoslib-version"' in head and '"experiment"' in artifact.text_or_empty

    def normalize(self, artifact: Artifact) -> Normalized:
        doc = artifact.json()
        if not isinstance(doc, dict) or not isinstance(doc.get("experiment"), dict):
            raise self.fail(artifact, "no 'experiment' object")
        experiment = doc["experiment"]
        title = experiment.get("title")
        if not isinstance(title, str) or not slug(title):
            raise self.fail(artifact, "the experiment has no title (a title with letters or digits keys the journal)")
        status, deviated = doc.get("status"), doc.get("deviated")
        if not isinstance(status, str) or not isinstance(deviated, bool):
            raise self.fail(artifact, "'status' must be a string and 'deviated' a boolean")
        states = doc.get("steady_states")
        if states is not None and not isinstance(states, dict):
            raise self.fail(artifact, "'steady_states' must be an object")
        before = self._steady_state(artifact, states, "before")
        after = self._steady_state(artifact, states, "after")
        tags = experiment.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise self.fail(artifact, "experiment 'tags' must be a list of strings")
        scenarios = list(dict.fromkeys(s for s in map(slug, tags) if s))
        method_problems = self._method_problems(artifact, experiment, doc.get("run"))
        duration = doc.get("duration")
        data: dict[str, Any] = {
            "scope": experiment_scope(title),
            "title": title,
            "scenarios": scenarios,
            "status": status,
            "deviated": deviated,
            "steady_state_before": before,
            "steady_state_after": after,
            "method_problems": method_problems,
            "passed": (status == "completed" and before is True and after is True and not deviated
                       and not method_problems),
            "duration_s": float(duration) if isinstance(duration, int | float) and not isinstance(duration, bool) else None,
        }
        version = doc.get("chaoslib-version")
        return Normalized(
            kind=self.kind, format=self.format,
            producer=Producer("chaostoolkit-lib", version if isinstance(version, str) else None),
            data=data, collected_at=iso(doc.get("start")),
        )

    def _method_problems(self, artifact: Artifact, experiment: dict[str, Any], runs: Any) -> list[str]:
        """Why the method did not run as written: a dry run, or an activity that failed or exited non-zero."""
        if runs is None:
            runs = []
        if not isinstance(runs, list) or not all(isinstance(run, dict) for run in runs):
            raise self.fail(artifact, "'run' must be an array of activity runs")
        problems: list[str] = []
        dry = experiment.get("dry")
        if dry not in (None, False):
            problems.append(f"a dry run (dry: {dry if isinstance(dry, str) else 'true'}): activities were not executed")
        for number, run in enumerate(runs, 1):
            activity = run.get("activity")
            activity = activity if isinstance(activity, dict) else {}
            kind = activity.get("type") if activity.get("type") in ("action", "probe") else "activity"
            name = activity.get("name")
            label = f"{kind} {name!r}" if isinstance(name, str) and name else f"{kind} {number}"
            if run.get("status") != "succeeded":
                problems.append(f"{label} {run['status'] if isinstance(run.get('status'), str) else 'did not finish'}")
                continue
            output, provider = run.get("output"), activity.get("provider")
            code = output.get("status") if isinstance(output, dict) else None
            if (kind == "action" and isinstance(provider, dict) and provider.get("type") == "process"
                    and isinstance(code, int) and not isinstance(code, bool) and code != 0):
                problems.append(f"{label} exited with status {code}")
        return problems

    def _steady_state(self, artifact: Artifact, states: dict[str, Any] | None, phase: str) -> bool | None:
        """Whether the hypothesis was met in a phase; None when it was not checked (no hypothesis, run cut short)."""
        state = (states or {}).get(phase)
        if state is None:
            return None
        met = state.get("steady_state_met") if isinstance(state, dict) else None
        if not isinstance(met, bool):
            raise self.fail(artifact, f"steady_states.{phase}.steady_state_met must be a boolean")
        return met


NORMALIZER = ChaosToolkitJournal()
