"""`readypolicy eval`: decide lanes for modules, record the decisions, exit 0/1/2.

The command parses options, prints and picks the exit code; who is decided for which lanes and
what is recorded is `readypolicy.gate`, and signed decision files are `signing/decision_files.py`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import click

from readypolicy.cli.context import (
    EXIT_NOT_READY,
    EXIT_READY,
    environment_revision,
    fail_closed,
    note,
    runtime,
    warn,
    write_chunks,
    write_output,
)
from readypolicy.evaluate import SubjectError
from readypolicy.gate import choose_subjects, lane_plan, run_evaluations
from readypolicy.records import DecisionRecord
from readypolicy.runtime import Runtime

if TYPE_CHECKING:
    from readypolicy.decision.ladder import LadderTally

FORMAT_NAMES = ("codequality", "json", "junit", "markdown", "sarif", "table")
"""The names of `report.registry.FORMATS` (a test keeps them equal). Written out so that parsing the
options does not load every report format: they load while OPA compiles (see `eval_command`)."""
HUMAN_FORMATS = ("markdown", "table")
"""Formats that end with each module's ladder."""


def _lanes(rt: Runtime, requested: Sequence[str]) -> list[str] | None:
    """The lanes asked for; None when none was named, meaning each module's target lane and those below."""
    if not requested:
        return None
    if "all" in requested:
        return list(rt.lanes)
    unknown = [lane for lane in requested if lane not in rt.lanes]
    if unknown:
        raise click.BadParameter(f"unknown lane(s) {', '.join(unknown)}; lanes: {', '.join(rt.lanes)}")
    return list(requested)


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, _n: int) -> None:
        return None


@click.command("eval")
@click.option("--lane", "-l", "lanes", multiple=True,
              help="Lane to decide (repeatable, or 'all'; default: each module's target lane and the lanes below it).")
@click.option("--module", "-m", "modules", multiple=True, help="Module (repeatable).")
@click.option("--all", "every", is_flag=True, help="Every module in the store (fleet mode, batched).")
@click.option("--revision", "-r",
              help="Revision (default: $READYPOLICY_REVISION or the CI's commit variable; else the one ingested last, "
                   "with a note). With --all: every module at this revision.")
@click.option("--latest", is_flag=True,
              help="Decide each module at its revision ingested last, even where $READYPOLICY_REVISION or a CI commit "
                   "variable is set (a fleet built at different commits).")
@click.option("--bundle", type=click.Path(path_type=Path, exists=True, dir_okay=False), help="Evaluate a built bundle.")
@click.option("--locked", is_flag=True, help="Decide each lane with the bundle bundles/lock.json approved for it.")
@click.option("--pack", help="Policy pack (default from config).")
@click.option("--engine", "engine_name", type=click.Choice(["opa", "opa-server"]), default="opa",
              help="opa: the OPA binary per batch; opa-server: a running `opa run --server` holding the same bundle.")
@click.option("--server", help="OPA server URL for --engine opa-server, e.g. http://127.0.0.1:8181.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_NAMES), default="table")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write the report to a file.")
@click.option("--no-record", is_flag=True, help="Do not store the decisions.")
@click.option("--sign", "sign_decisions", is_flag=True,
              help="Sign each decision: write SIGN_DIR/<module>.<lane>.decision.json and .sigstore.json.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --sign: PEM private key (passphrase from READYPOLICY_KEY_PASSWORD); default keyless.")
@click.option("--identity-token", help="With --sign: OIDC token for keyless signing.")
@click.option("--trust-config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --sign: Sigstore client trust config of a private instance.")
@click.option("--timestamp-url", help="With --sign --key: RFC 3161 timestamp authority URL for a trusted signing "
              "time. Env: READYPOLICY_TIMESTAMP_URL.")
@click.option("--subject-digest", help="With --sign: sha256:<hex> of the module artifact (one module only).")
@click.option("--vsa", is_flag=True, help="With --sign: also sign a SLSA Verification Summary.")
@click.option("--sign-dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --sign: where decisions and bundles go (default .readypolicy/decisions).")
@click.pass_context
@fail_closed
def eval_command(
    ctx: click.Context, lanes: tuple[str, ...], modules: tuple[str, ...], every: bool, revision: str | None,
    latest: bool, bundle: Path | None, locked: bool, pack: str | None, engine_name: str, server: str | None, fmt: str,
    output: Path | None, no_record: bool, sign_decisions: bool, key: Path | None, identity_token: str | None,
    trust_config: Path | None, timestamp_url: str | None, subject_digest: str | None, vsa: bool, sign_dir: Path | None,
) -> None:
    """Decide whether modules are ready for lanes. Exit 0 ready, 1 not ready, 2 error."""
    rt = runtime(ctx)
    requested = _lanes(rt, lanes)
    if every and modules:
        raise click.UsageError("--all evaluates every module in the store; drop --module")
    if not every and not modules:
        raise click.UsageError("give --module M (repeatable) or --all")
    if latest and revision is not None:
        raise click.UsageError("--latest picks each module's revision ingested last; drop --revision")
    if locked and bundle:
        raise click.UsageError("--locked uses the approved bundles; drop --bundle")
    if (engine_name == "opa-server") != (server is not None):
        raise click.UsageError("--engine opa-server and --server URL go together")
    if not sign_decisions and (key or identity_token or trust_config or timestamp_url or subject_digest or vsa or sign_dir):
        raise click.UsageError(
            "--key, --identity-token, --trust-config, --timestamp-url, --subject-digest, --vsa and --sign-dir need --sign"
        )
    if requested and not (every or locked or sign_decisions or server):
        # A gate: its first lane and policy are known before the store is opened; OPA starts now (see
        # Runtime.prestart) and the Runtime ends it with the command if the evaluation never takes it.
        rt.prestart(requested[0], pack=pack, bundle=bundle)
    subjects, picked = choose_subjects(rt.store, modules, revision, every, environment_revision(), latest)
    if picked is not None:
        note(picked)
    plan = lane_plan(rt.store, rt.lanes, subjects, requested)
    progress = every and sys.stderr.isatty()
    if subject_digest and len(subjects) != 1:
        raise click.UsageError("--subject-digest names one module's artifact; evaluate one module with it")
    # The signer is ready (key read, passphrase given) before anything is decided or recorded.
    sign: Callable[[Sequence[DecisionRecord]], list[Path]] | None = None
    if sign_decisions:
        from readypolicy.cli.sign import signer_from_options  # the signing stack loads only when used
        from readypolicy.signing.decision_files import SIGN_DIR, write_signed

        configured_tsa = rt.config.timestamp_url if key is not None else None  # the setting is for key-based signing
        signer = signer_from_options(key, identity_token, trust_config, timestamp_url or configured_tsa)
        sign = functools.partial(write_signed, signer=signer, directory=sign_dir or rt.config.path(SIGN_DIR),
                                 subject_digest=subject_digest, vsa=vsa)
    verdicts: list[bool] = []
    # Only the human formats end with each module's ladder; machine formats skip the tally (and its
    # manifest reads) altogether.
    tallies: list[LadderTally] = []

    def prepare() -> None:
        """Load what only the output needs (report format, ladder) while OPA compiles the first batch.

        None of it is needed to build OPA's input, so it stays off the gate's critical path; it runs
        once more after the first decision in case nothing was decided (an empty report is printed).
        """
        from readypolicy.decision.ladder import LadderTally
        from readypolicy.report.locations import store_locator  # noqa: F401 (loaded here, used below)
        from readypolicy.report.registry import get_format  # noqa: F401 (loaded here, used below)

        if fmt in HUMAN_FORMATS and not tallies:
            tallies.append(LadderTally(rt.lanes, rt.store))

    def decided() -> Iterator[DecisionRecord]:
        records = run_evaluations(rt, plan, bundle, pack, record=not no_record, warn=warn, locked=locked, server=server,
                                  meanwhile=prepare)
        total = sum(len(chosen) for chosen in plan.values())
        with click.progressbar(length=total, label="evaluating", file=sys.stderr) if progress else _NoBar() as bar:
            for record in records:
                bar.update(1)
                if sign is not None:
                    for path in sign([record]):
                        click.echo(f"signed: {path}", err=True)
                verdicts.append(bool(record["allow"]))
                for tally in tallies:
                    tally.add(record)
                yield record

    def ladder_table(ladders: LadderTally) -> Iterator[str]:
        """Run after every decision was streamed (chained after them): each module's ladder, a line at a time."""
        yield "\nwhy not the next lane:\n"
        separator = ""
        for ladder in ladders.ladders():
            yield f"{separator}  {describe(ladder)}"
            separator = "\n"

    stream = decided()
    first = next(stream, None)  # the first batch is decided here, `prepare` running while OPA compiled it
    prepare()
    from readypolicy.decision.ladder import describe
    from readypolicy.report.locations import store_locator
    from readypolicy.report.markdown import append_step_summary
    from readypolicy.report.registry import get_format

    records = stream if first is None else chain([first], stream)
    if fmt == "markdown":
        text = get_format(fmt).render(list(records))
        text += "\n\n### Why not the next lane\n\n" + "\n".join(f"- {describe(lad)}" for lad in tallies[0].ladders())
        write_output(text, output)
        append_step_summary(text)
    else:
        chunks: Iterable[str] = get_format(fmt, store_locator(rt.store)).stream(records)
        if tallies:  # the table
            chunks = chain(chunks, ladder_table(tallies[0]))
        write_chunks(chunks, output)
    if not verdicts:  # a gate that decided nothing never says READY
        raise SubjectError("nothing was decided: no module and lane to evaluate")
    ctx.exit(EXIT_READY if all(verdicts) else EXIT_NOT_READY)
