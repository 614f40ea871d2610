"""The root command group: global options become the Runtime every subcommand uses."""

from __future__ import annotations

from pathlib import Path

import click

from readypolicy import __version__
from readypolicy.cli.audit import audit_group
from readypolicy.cli.context import fail_closed
from readypolicy.cli.drift import diff_command, drift_command
from readypolicy.cli.eval import eval_command
from readypolicy.cli.evidence import evidence_group, formats_command
from readypolicy.cli.ingest import ingest_command
from readypolicy.cli.policy import policy_group
from readypolicy.cli.report import report_command
from readypolicy.cli.sign import keygen, sign, verify
from readypolicy.cli.store import store_group
from readypolicy.config import load_config
from readypolicy.runtime import Runtime


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
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
def cli(ctx: click.Context, config_file: Path | None, **overrides: object) -> None:
    """readypolicy: decide whether a module is ready for its next lane, from evidence and Rego policy."""
    config = load_config(config_file, overrides)
    ctx.obj = Runtime(config)
    ctx.call_on_close(ctx.obj.close)


cli.add_command(ingest_command)
cli.add_command(evidence_group)
cli.add_command(formats_command)
cli.add_command(eval_command)
cli.add_command(store_group)
cli.add_command(keygen)
cli.add_command(sign)
cli.add_command(verify)
cli.add_command(policy_group)
cli.add_command(audit_group)
cli.add_command(drift_command)
policy_group.add_command(diff_command)
cli.add_command(report_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="readypolicy")
