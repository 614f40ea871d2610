"""OPA's own parser: `opa parse --format json`, the AST every Rego-reading feature works from.

Rego is never matched as text: formatting, comments, strings that happen to look like rules and
renamed helpers would all fool a pattern. Drift detection compares ASTs without locations (only
meaning remains); `policy explain` asks for locations to point at a rule's file:line and text.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from readypolicy.engines.interface import EngineError
from readypolicy.engines.opa_binary import OpaBinary


def parse_module(opa: OpaBinary, path: str, text: bytes, *, locations: bool = False) -> dict[str, Any]:
    """OPA's AST of one module, comments left out; with `locations`, each node has its row, col and text.

    `path` only names the module in messages (and the file OPA reads, so locations are relative to
    nothing the caller must clean up). An unparsable module is an EngineError quoting OPA.
    """
    include = "locations,-comments" if locations else "-comments"
    with tempfile.TemporaryDirectory(prefix="readypolicy-parse-") as work:
        target = Path(work) / PurePosixPath(path).name
        target.write_bytes(text)
        done = opa.run(["parse", "--format", "json", "--json-include", include, str(target)])
    if done.returncode != 0:
        message = " ".join((done.stderr or done.stdout).decode("utf-8", errors="replace").split())
        raise EngineError(f"{path}: OPA cannot parse it: {message[:300]}")
    try:
        module = json.loads(done.stdout)
    except ValueError as exc:
        raise EngineError(f"{path}: `opa parse` printed something that is not JSON") from exc
    if not isinstance(module, dict) or "package" not in module:
        raise EngineError(f"{path}: `opa parse` returned no package")
    return module
