"""JSON: the decision records themselves (one object for one record, else a list)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from readypolicy.records import DecisionRecord
from readypolicy.report.interface import ReportFormat


class JsonFormat(ReportFormat):
    """Machine-readable records."""

    name = "json"

    def render(self, records: Sequence[DecisionRecord]) -> str:
        value: Any = records[0] if len(records) == 1 else list(records)
        return json.dumps(value, indent=2, sort_keys=True)

    def stream(self, records: Iterable[DecisionRecord]) -> Iterator[str]:
        """The same text as `render`, written as a list element by element once a second record arrives."""
        iterator = iter(records)
        first = next(iterator, None)
        second = next(iterator, None)
        if first is None or second is None:  # no second record without a first: the type checker cannot know
            yield self.render([first] if first is not None else [])
            return
        yield "[\n" + _indented(first)
        for item in chain([second], iterator):
            yield ",\n" + _indented(item)
        yield "\n]"


def _indented(record: DecisionRecord) -> str:
    """One list element as json.dumps(indent=2) writes it inside a list."""
    return "\n".join("  " + line for line in json.dumps(record, indent=2, sort_keys=True).splitlines())
