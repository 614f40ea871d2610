"""Shared CLI plumbing: the runtime object, error-to-exit-code mapping, and output helpers.

Exit codes are a contract with CI: 0 ready, 1 not ready, 2 error. Any ReadyPolicyError becomes a
single `readypolicy: error: ...` line on stderr and exit 2, so a broken run can never look like
a verdict.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from readypolicy.errors import ReadyPolicyError
from readypolicy.runtime import Runtime
from readypolicy.safeio import atomic_open, write_atomic

if TYPE_CHECKING:
    from readypolicy.policy.interface import PolicySet

EXIT_READY, EXIT_NOT_READY, EXIT_ERROR = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


def runtime(ctx: click.Context) -> Runtime:
    """The Runtime the root group built."""
    obj = ctx.find_root().obj
    if not isinstance(obj, Runtime):
        raise click.UsageError("internal: no runtime configured")
    return obj


def recorded_policy(rt: Runtime, record: Mapping[str, Any], explicit: Path | None) -> PolicySet:
    """The policy set a recorded decision was made with: `explicit`, else the built bundle, else the pack's tree."""
    from readypolicy.replay import policy_candidates, select_policy  # only the commands that replay or export load it

    candidates = policy_candidates(record, explicit, rt.config.path(rt.config.bundles), lambda pack: rt.policy(pack=pack))
    return select_policy(record, candidates)


def one_line(text: str) -> str:
    """`text` with its line breaks (any Unicode kind) turned into spaces: an error is one line."""
    return " ".join(text.splitlines())


def fail_closed(func: F) -> F:
    """Turn ReadyPolicyError into a one-line message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ReadyPolicyError as exc:
            click.echo(f"readypolicy: error: {one_line(str(exc))}", err=True)
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


DEBUG_ENV = "READYPOLICY_DEBUG"
"""Set to 1 to see the traceback of an unexpected error (it is still exit 2)."""


def exit_unexpected(exc: BaseException) -> NoReturn:
    """End the run for an exception nothing else handled: one line and exit 2, never the NOT READY code.

    A crash is not a verdict: Python's default (a traceback and exit 1) would read as "not ready"
    to CI. The line does not say that nothing was decided: a crash after a decision was recorded
    (its output could not be written) leaves that record in the store. The line names the exception
    type and where it was raised but not its message, which can quote artifact bytes into a CI log;
    READYPOLICY_DEBUG=1 prints the full traceback.
    """
    import traceback  # only a crash needs it

    if os.environ.get(DEBUG_ENV) == "1":
        traceback.print_exception(exc, file=sys.stderr)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    click.echo(
        f"readypolicy: error: unexpected {type(exc).__name__}{where}; "
        f"the run did not finish and gives no verdict (set {DEBUG_ENV}=1 for the traceback)",
        err=True,
    )
    sys.exit(EXIT_ERROR)


def warn(message: str) -> None:
    """A warning line on stderr."""
    click.echo(f"readypolicy: warning: {message}", err=True)


REVISION_VARIABLES: tuple[tuple[str, str], ...] = (
    ("READYPOLICY_REVISION", "readypolicy"),
    ("GITHUB_SHA", "GitHub Actions"),
    ("CI_COMMIT_SHA", "GitLab CI"),
    ("GIT_COMMIT", "Jenkins"),
    ("BUILDKITE_COMMIT", "Buildkite"),
    ("CIRCLE_SHA1", "CircleCI"),
    ("BUILD_SOURCEVERSION", "Azure Pipelines"),
)
"""Where the revision being built comes from when no --revision is given, first set wins.

One table for ingest and eval, so the evidence a CI job stores and the revision it then decides
are the same commit.
"""


def environment_revision() -> tuple[str, str] | None:
    """(revision, `$VARIABLE` it came from) for the first variable of REVISION_VARIABLES that is set."""
    for variable, _ci in REVISION_VARIABLES:
        value = os.environ.get(variable)
        if value:
            return value, f"${variable}"
    return None


def default_revision() -> str:
    """The revision CI is building, else `local`."""
    found = environment_revision()
    return found[0] if found else "local"


def note(message: str) -> None:
    """A note on stderr: something the user did not ask for explicitly and should know was chosen."""
    click.echo(f"readypolicy: note: {message}", err=True)


def write_chunks(chunks: Iterable[str], output: Path | None) -> None:
    """Print pieces as they come, or write them to a file that appears whole (renamed at the end)."""
    if output is None:
        for chunk in chunks:
            click.echo(chunk, nl=False)
        click.echo()
        return
    with atomic_open(output) as handle:
        for chunk in chunks:
            handle.write(chunk)
        handle.write("\n")


def write_output(text: str, output: Path | None) -> None:
    """Print, or write atomically to a file."""
    if output is None:
        click.echo(text)
        return
    write_atomic(output, text if text.endswith("\n") else text + "\n")
