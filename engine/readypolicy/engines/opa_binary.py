"""The OPA executable: running it with a deadline, its version, and its restricted capabilities.

The version is cached per binary (keyed by path, size and mtime). It labels decisions, and it picks
which restricted capabilities apply. The restricted list itself is the guard that keeps policies
deterministic, so it is never read back from a cache anyone could have rewritten: for the pinned OPA
it is the list shipped inside the package (see `capabilities`); for any other version each process
asks this OPA for its capabilities once, restricts them in memory and writes them to a fresh private
temp file that is removed when the process ends. A rewritten version cache can therefore only swap
one allowlist for the other, and neither names a denied builtin (docs/threat-model.md, "not guarded").
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from readypolicy.engines import capabilities
from readypolicy.engines.interface import EngineError
from readypolicy.safeio import write_atomic


@dataclass(frozen=True)
class OpaBinary:
    """One OPA executable and where to cache facts about it."""

    path: Path
    """The executable."""
    cache_dir: Path
    """Directory for the cached version (never for the capabilities, see the module docstring)."""
    timeout_s: float = 60.0
    """Deadline for any single OPA process; past it the process is killed and the call fails closed."""

    def run(self, args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run OPA; a missing binary or a timeout is an EngineError (the exit code is the caller's)."""
        try:
            return subprocess.run(
                [str(self.path), *args], input=stdin, capture_output=True, timeout=self.timeout_s, check=False
            )
        except FileNotFoundError as exc:
            raise EngineError(f"OPA binary vanished: {self.path}") from exc
        except subprocess.TimeoutExpired as exc:
            raise EngineError(f"OPA did not finish within {self.timeout_s:g}s and was killed") from exc
        except OSError as exc:
            raise EngineError(f"cannot run OPA at {self.path}: {exc}") from exc

    @cached_property
    def _key(self) -> str:
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise EngineError(f"OPA binary not found: {self.path}") from exc
        ident = f"{self.path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        return hashlib.sha256(ident.encode()).hexdigest()[:16]

    def _cached(self, name: str, produce: list[str]) -> bytes:
        target = self.cache_dir / f"opa-{self._key}-{name}"
        if target.is_file():
            return target.read_bytes()
        done = self.run(produce)
        if done.returncode != 0:
            raise EngineError(f"`opa {' '.join(produce)}` failed: {_first_line(done.stderr or done.stdout)}")
        write_atomic(target, done.stdout)
        return done.stdout

    @cached_property
    def version(self) -> str:
        """OPA's version, e.g. `1.22.2`."""
        for line in self._cached("version", ["version"]).decode().splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
        raise EngineError(f"cannot read the version of {self.path}")

    @cached_property
    def capabilities_file(self) -> Path:
        """The restricted capabilities: the list shipped for the pinned OPA, else a private temp file made by this process."""
        shipped = capabilities.shipped_for(self.version)
        if shipped is not None:
            return shipped
        import tempfile  # only off the pinned version
        import weakref

        done = self.run(["capabilities", "--current"])
        if done.returncode != 0:
            raise EngineError(f"`opa capabilities --current` failed: {_first_line(done.stderr or done.stdout)}")
        try:
            text = capabilities.restricted_text(done.stdout)
        except ValueError as exc:
            raise EngineError(f"`opa capabilities --current` printed no JSON builtin list: {exc}") from exc
        handle, name = tempfile.mkstemp(prefix="readypolicy-capabilities-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        path = Path(name)
        weakref.finalize(self, path.unlink, missing_ok=True)
        return path

def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace").strip()
    return text.splitlines()[0][:300] if text else "(no output)"
