"""Shared CLI plumbing: the runtime object, error-to-exit-code mapping, and output helpers.

Exit codes are a contract with CI: 0 ready, 1 not ready, 2 error. Any ReadyPolicyError becomes a
single `readypolicy: error: ...` line on stderr and exit 2, so a broken run can never look like
a verdict.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from readypolicy.errors import ReadyPolicyError
from readypolicy.runtime import Runtime

EXIT_READY, EXIT_NOT_READY, EXIT_ERROR = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


def runtime(ctx: click.Context) -> Runtime:
    """The Runtime the root group built."""
    obj = ctx.find_root().obj
    if not isinstance(obj, Runtime):
        raise click.UsageError("internal: no runtime configured")
    return obj


def fail_closed(func: F) -> F:
    """Turn ReadyPolicyError into a one-line message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ReadyPolicyError as exc:
            click.echo(f"readypolicy: error: {exc}", err=True)
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


def warn(message: str) -> None:
    """A warning line on stderr."""
    click.echo(f"readypolicy: warning: {message}", err=True)


def default_revision() -> str:
    """The revision CI is building, else `local`."""
    for variable in ("READYPOLICY_REVISION", "GITHUB_SHA", "CI_COMMIT_SHA", "BUILDKITE_COMMIT", "GIT_COMMIT"):
        if os.environ.get(variable):
            return os.environ[variable]
    return "local"


def write_chunks(chunks: Iterable[str], output: Path | None) -> None:
    """Print pieces as they come, or write them to a file that appears whole (renamed at the end)."""
    if output is None:
        for chunk in chunks:
            click.echo(chunk, nl=False)
        click.echo()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.write("\n")
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)


def write_output(text: str, output: Path | None) -> None:
    """Print, or write atomically to a file."""
    if output is None:
        click.echo(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    tmp.replace(output)
