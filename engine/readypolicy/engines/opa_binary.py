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
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from readypolicy.engines import capabilities
from readypolicy.engines.interface import EngineError
from readypolicy.safeio import write_atomic

COLLECTOR_DEFAULTS = {"GOGC": "off", "GOMEMLIMIT": "512MiB"}
"""Go's garbage-collector settings for OPA processes, unless the caller's environment sets `GOGC` or `GOMEMLIMIT`.

Rego evaluation allocates heavily (about 9,000 allocations per candidate decision, 14,000 per
production decision) and Go's default (`GOGC=100`) spends about a quarter of OPA's CPU collecting.
With no proportional target and a 512 MiB soft limit, Go collects only when an OPA process nears
512 MiB: one gate or one batch of 500 candidate decisions (about 340 MiB) never collects. Measured
side by side against the previous `GOGC=200` (docs/performance.md): OPA's CPU per fleet of 1,000
candidate modules -25%, fleet wall -19%, one gate's `opa eval` -11 ms; peak RSS of one batch process
201 → 336 MiB, of one gate's 45 → 51 MiB. The limit keeps memory flat in the batch count; a batch whose
live data alone exceeds it is collected more often (slower, never wrong). A caller who sets either
variable (a small CI runner) gets exactly its own environment. Decisions do not depend on it.
"""


def opa_environment() -> dict[str, str]:
    """The environment OPA runs in: the caller's, with COLLECTOR_DEFAULTS unless it sets either variable."""
    if any(name in os.environ for name in COLLECTOR_DEFAULTS):
        return dict(os.environ)
    return {**os.environ, **COLLECTOR_DEFAULTS}


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
                [str(self.path), *args], input=stdin, capture_output=True, timeout=self.timeout_s, check=False,
                env=opa_environment(),
            )
        except FileNotFoundError as exc:
            raise EngineError(f"OPA binary vanished: {self.path}") from exc
        except subprocess.TimeoutExpired as exc:
            raise EngineError(f"OPA did not finish within {self.timeout_s:g}s and was killed") from exc
        except OSError as exc:
            raise EngineError(f"cannot run OPA at {self.path}: {exc}") from exc

    def start(self, args: list[str]) -> OpaProcess:
        """Start OPA now and hand it its stdin later (see OpaProcess); the deadline runs from here."""
        return OpaProcess(self, args)

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


class OpaProcess:
    """One OPA process started before its input is ready, so its Go start-up overlaps Python's work.

    The caller feeds stdin once and then waits. The process is killed at the deadline (even while
    Python is blocked writing its stdin), on any error, and on `close`, which the caller reaches through
    `with` on every path: a failure between start and wait never leaves an OPA process behind.
    """

    def __init__(self, binary: OpaBinary, args: list[str]) -> None:
        self.timeout_s = binary.timeout_s
        self.deadline = time.monotonic() + binary.timeout_s
        self.expired = threading.Event()
        """Set when the deadline killed OPA."""
        try:
            self.process = subprocess.Popen(
                [str(binary.path), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=opa_environment(),
            )
        except FileNotFoundError as exc:
            raise EngineError(f"OPA binary vanished: {binary.path}") from exc
        except OSError as exc:
            raise EngineError(f"cannot run OPA at {binary.path}: {exc}") from exc
        # The timer holds the process and the flag, not this object: a reference cycle through a bound
        # method would keep the process and its captured output (megabytes for a batch) alive until
        # Python's cycle collector happened to run.
        self._timer = threading.Timer(binary.timeout_s, _kill_at_deadline, args=(self.process, self.expired))
        self._timer.daemon = True
        self._timer.start()

    def __enter__(self) -> OpaProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def feed(self, data: bytes) -> None:
        """Write OPA's whole stdin and close it.

        An OPA that stopped reading is reported by `wait` and the output checks, not here (as
        `subprocess.run` does): its exit status, its stderr or the deadline say more than a broken pipe.
        """
        stdin = self.process.stdin
        if stdin is None:
            raise EngineError("internal: OPA's input was already given")
        self.process.stdin = None  # communicate() must not flush or close it again
        try:
            stdin.write(data)
            stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass  # it exited or was killed: `wait` names why (its status, its stderr, or the deadline)

    def wait(self) -> subprocess.CompletedProcess[bytes]:
        """OPA's output once it exits; EngineError past the deadline."""
        try:
            stdout, stderr = self.process.communicate(timeout=max(0.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired as exc:
            self.close()
            raise EngineError(f"OPA did not finish within {self.timeout_s:g}s and was killed") from exc
        finally:
            self._timer.cancel()
        if self.expired.is_set():
            raise EngineError(f"OPA did not finish within {self.timeout_s:g}s and was killed")
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, stdout, stderr)

    def close(self) -> None:
        """Kill OPA if it still runs and reap it (idempotent)."""
        self._timer.cancel()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def _kill_at_deadline(process: subprocess.Popen[bytes], expired: threading.Event) -> None:
    expired.set()
    process.kill()


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace").strip()
    return text.splitlines()[0][:300] if text else "(no output)"
