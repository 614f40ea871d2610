"""`readypolicy doctor`: check OPA, capabilities, store, keys and configuration; print a fix for each problem."""

from __future__ import annotations

from pathlib import Path

import click

from readypolicy.cli.context import EXIT_ERROR, EXIT_READY, fail_closed, runtime
from readypolicy.doctor import diagnose


@click.command("doctor")
@click.option("--key", "keys", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Private signing key to check (repeatable; default: every *.key in the project root).")
@click.pass_context
@fail_closed
def doctor_command(ctx: click.Context, keys: tuple[Path, ...]) -> None:
    """Check that this machine can give a verdict. Exit 0 when every check is ok, else 2."""
    rt = runtime(ctx)
    chosen = list(keys) or sorted(rt.config.root.glob("*.key"))
    findings = diagnose(rt, chosen)
    for finding in findings:
        click.echo(f"{'ok' if finding.ok else 'FAIL':<5} {finding.name:<13} {finding.detail}")
        if not finding.ok:
            click.echo(f"{'':<5} {'':<13} fix: {finding.fix}")
    ctx.exit(EXIT_READY if all(f.ok for f in findings) else EXIT_ERROR)
