"""The OPA binary as a subprocess: `opa eval` once per batch of inputs.

A batch is one OPA process: the inputs travel as `{"batch": [...]}` on stdin and a comprehension
evaluates the lane query once per item with `with input as`. OPA prints the batch's value as compact JSON
(`--format raw`), which is checked for shape and count; anything unexpected is an EngineError. Evaluation runs with
`--strict-builtin-errors`: by default a failing builtin (a malformed timestamp, say) just makes its
rule undefined, which can quietly turn a check into another branch; here it fails the run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from readypolicy.engines.interface import EngineError, EngineInfo, LoadedPolicy, PendingEvaluation, StartingEngine
from readypolicy.engines.opa_binary import OpaBinary


def batch_query(query: str) -> str:
    """The query that evaluates `query` for every item of `input.batch`, keeping undefined results visible."""
    return f"[r | some item in input.batch; r := {{\"v\": [x | x := {query} with input as item]}}]"


READ_SPEED = "--optimize-store-for-read-speed"
"""Keep the bundle's data as Rego values, so every decision's reads of the catalog and thresholds are not
converted again: 6% fewer allocations per production decision (14,226 → 13,372), 3% per module of a
batch, byte-identical decisions (docs/performance.md). The store is never written during an evaluation."""


RAW = ("--format", "raw")
"""OPA prints the value alone, compact (`json.Marshal`), instead of `--format json`'s indented envelope: about
half the bytes and 8% less OPA CPU for a batch of 500 candidate decisions, the same parsed value
(docs/performance.md). The batch query's value is always an array, so raw's one special case, a string
printed without quotes, cannot occur; errors go to stderr and exit status 2."""


def eval_args(capabilities: str, bundle: str, query: str) -> list[str]:
    """`opa eval`'s arguments for a batch on stdin: strict, builtin errors fatal, restricted capabilities."""
    return [
        "eval", *RAW, "--strict", "--strict-builtin-errors", READ_SPEED, "--stdin-input",
        "--capabilities", capabilities, "--bundle", bundle, batch_query(query),
    ]


class OpaCliEngine(StartingEngine):
    """Evaluates with `opa eval` in a subprocess."""

    def __init__(self, binary: OpaBinary) -> None:
        self.binary = binary

    def info(self) -> EngineInfo:
        return EngineInfo(name="opa", version=self.binary.version)

    def start(self, policy: LoadedPolicy, query: str) -> OpaRun:
        return OpaRun(self.binary, policy, query)


class OpaRun(PendingEvaluation):
    """One `opa eval` process, started at once; OPA reads its stdin first, then loads and compiles the bundle.

    So OPA's Go start-up overlaps the caller building the inputs, and the caller's work after `send`
    overlaps OPA's compile. The process ends with `close` on every path (see OpaProcess).
    """

    def __init__(self, binary: OpaBinary, policy: LoadedPolicy, query: str) -> None:
        self.query, self.strip = query, str(policy.path)
        self.process = binary.start(eval_args(str(binary.capabilities_file), self.strip, query))
        self.count: int | None = None

    def send(self, inputs: Sequence[Any]) -> None:
        self.send_texts(inputs, [None] * len(inputs))

    def send_texts(self, inputs: Sequence[Any], texts: Sequence[bytes | None]) -> None:
        """Write the batch from the texts given (each encoded once, for its digest too); `json` writes the rest."""
        if self.count is not None:
            raise EngineError("internal: inputs were already sent to OPA")
        parts = [text if text is not None else json.dumps(item, separators=(",", ":")).encode()
                 for item, text in zip(inputs, texts, strict=True)]
        self.count = len(inputs)
        self.process.feed(b'{"batch":[' + b",".join(parts) + b"]}")

    def result(self) -> list[Any]:
        if self.count is None:
            raise EngineError("internal: no inputs were sent to OPA")
        done = self.process.wait()
        values = parse_eval_output(done.stdout, done.stderr, done.returncode, strip=self.strip)
        return unwrap_batch(values, self.count, self.query)

    def close(self) -> None:
        self.process.close()


def parse_eval_output(stdout: bytes, stderr: bytes, returncode: int, strip: str = "") -> Any:
    """The value `opa eval --format raw` printed (one line of JSON), or EngineError.

    A failed run's message is OPA's stderr up to the Rego traceback OPA appends to an evaluation error,
    with `strip` (the staged bundle directory) removed so it names pack-relative files. An undefined
    query prints nothing.
    """
    if returncode != 0:
        text = stderr.decode("utf-8", errors="replace").split("\nTraceback:", 1)[0].removeprefix("1 error occurred: ")
        if strip:
            text = text.replace(strip + "/", "").replace(strip, f"policy {policy_name(strip)}")
        raise EngineError(f"OPA exited with status {returncode}: {' '.join(text.split())[:600] or '(no output)'}")
    if not stdout.strip():
        raise EngineError("OPA returned no result for the query (undefined)")
    try:
        return json.loads(stdout)
    except ValueError:
        raise EngineError(f"OPA printed output that is not a JSON result: {_snippet(stdout)}") from None


def unwrap_batch(values: Any, expected: int, query: str) -> list[Any]:
    """Unwrap `batch_query` results; every item must be defined exactly once."""
    if not isinstance(values, list) or len(values) != expected:
        raise EngineError(f"OPA returned {len(values) if isinstance(values, list) else 'no'} results for {expected} inputs")
    out: list[Any] = []
    for index, item in enumerate(values):
        inner = item.get("v") if isinstance(item, dict) else None
        if not isinstance(inner, list) or len(inner) != 1:
            raise EngineError(f"{query} is undefined (or not unique) for input {index}; is the lane package loaded?")
        out.append(inner[0])
    return out


def policy_name(path: str) -> str:
    """A short name for a staged policy directory or bundle file in messages."""
    return path.rsplit("/", 1)[-1]


def _snippet(data: bytes) -> str:
    text = " ".join(data.decode("utf-8", errors="replace").split())
    return text[:300] or "(no output)"
