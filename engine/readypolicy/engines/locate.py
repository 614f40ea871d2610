"""Find the OPA binary: --opa, READYPOLICY_OPA, the project's .tools/bin/opa, then PATH."""

from __future__ import annotations

import os
from pathlib import Path

from readypolicy.engines.interface import EngineError

INSTALL_HINT = "run scripts/install-opa (builds OPA v1.22.2 into .tools/bin) or pass --opa PATH"


def find_opa(explicit: str | None, project_root: Path) -> Path:
    """The OPA binary to use, or EngineError saying how to get one."""
    candidates: list[tuple[str, str | None]] = [
        ("--opa / opa setting", explicit),
        ("READYPOLICY_OPA", os.environ.get("READYPOLICY_OPA")),
        (".tools/bin/opa", str(project_root / ".tools" / "bin" / "opa")),
    ]
    for origin, value in candidates:
        if not value:
            continue
        path = Path(value)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        if origin != ".tools/bin/opa":
            raise EngineError(f"OPA binary from {origin} not found or not executable: {value}; {INSTALL_HINT}")
    import shutil  # only when no configured or project OPA exists

    on_path = shutil.which("opa")
    if on_path:
        return Path(on_path)
    raise EngineError(f"OPA binary not found; {INSTALL_HINT}")
