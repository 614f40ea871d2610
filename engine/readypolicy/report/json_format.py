"""JSON: the decision records themselves (one object for one record, else a list)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from readypolicy.report.interface import ReportFormat


class JsonFormat(ReportFormat):
    """Machine-readable records."""

    name = "json"

    def render(self, records: Sequence[dict[str, Any]]) -> str:
        value: Any = records[0] if len(records) == 1 else list(records)
        return json.dumps(value, indent=2, sort_keys=True)
