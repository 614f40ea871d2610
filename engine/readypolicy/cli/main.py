"""The root command group: global options become the Runtime every subcommand uses."""

from __future__ import annotations

import sys
from importlib import import_module
from pathlib import Path

import click

from readypolicy import __version__
from readypolicy.cli.context import EXIT_ERROR, exit_unexpected, fail_closed
from readypolicy.config import load_config
from readypolicy.runtime import Runtime

COMMANDS: dict[str, str] = {
    "ingest": "readypolicy.cli.ingest:ingest_command",
    "evidence": "readypolicy.cli.evidence:evidence_group",
    "formats": "readypolicy.cli.evidence:formats_command",
    "eval": "readypolicy.cli.eval:eval_command",
    "store": "readypolicy.cli.store:store_group",
    "keygen": "readypolicy.cli.sign:keygen",
    "sign": "readypolicy.cli.sign:sign",
    "verify": "readypolicy.cli.sign:verify",
    "policy": "readypolicy.cli.policy:policy_group",
    "audit": "readypolicy.cli.audit:audit_group",
    "drift": "readypolicy.cli.drift:drift_command",
    "report": "readypolicy.cli.report:report_command",
    "requirements": "readypolicy.cli.requirements:requirements_command",
    "doctor": "readypolicy.cli.doctor:doctor_command",
    "waiver": "readypolicy.cli.waiver:waiver_group",
}
"""Subcommand → `module:attribute`. Imported only when invoked: the signing stack alone takes a few
hundred milliseconds to import, which a CI gate running `eval` should not pay."""


CLICK_OWN = (click.ClickException, click.exceptions.Exit)
"""Click's own ways to end a run (usage errors exit 2, ctx.exit keeps its code): never rewritten."""
INTERRUPTED = (KeyboardInterrupt, EOFError, click.Abort)
"""An interrupted run: click would print "Aborted!" and exit 1, the NOT READY code; here it is 2."""


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is used.

    It is also the one place an exception nothing handled becomes exit 2 with one line, for every
    command at once (see `exit_unexpected`).
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except CLICK_OWN:
            raise
        except INTERRUPTED:
            click.echo("readypolicy: error: interrupted; nothing more was decided or recorded", err=True)
            sys.exit(EXIT_ERROR)
        except Exception as exc:  # the root of the CLI: any crash must be exit 2, never 1
            exit_unexpected(exc)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command = getattr(import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="readypolicy")
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="readypolicy.yaml to use.")
@click.option("--store", help="Store URL (SQLite path or postgresql://...). Env: READYPOLICY_STORE.")
@click.option("--policies", type=click.Path(path_type=Path), help="Policy source dir. Env: READYPOLICY_POLICIES.")
@click.option("--pack", help="Policy pack name or directory. Env: READYPOLICY_PACK.")
@click.option("--opa", help="OPA binary. Env: READYPOLICY_OPA.")
@click.option("--opa-timeout", "opa_timeout_s", type=float, help="Seconds before OPA is killed. Env: READYPOLICY_OPA_TIMEOUT_S.")
@click.option("--cache-dir", type=click.Path(path_type=Path), help="Cache dir. Env: READYPOLICY_CACHE_DIR.")
@click.option("--waivers", type=click.Path(path_type=Path), help="Waiver file. Env: READYPOLICY_WAIVERS.")
@click.option("--actor", help="Who is acting, for the audit log. Env: READYPOLICY_ACTOR.")
@click.pass_context
@fail_closed
def cli(ctx: click.Context, /, config_file: Path | None, **overrides: object) -> None:
    """readypolicy: decide whether a module is ready for its next lane, from evidence and Rego policy."""
    config = load_config(config_file, overrides)
    ctx.obj = Runtime(config)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    """Console-script entry point; what escapes the group (e.g. closing the store) is still exit 2."""
    try:
        cli(prog_name="readypolicy")
    except Exception as exc:  # see LazyGroup.invoke
        exit_unexpected(exc)
