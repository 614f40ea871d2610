"""A throwaway PostgreSQL cluster for the test suite.

The PostgreSQL store is tested against a real server, not a fake: this module runs `initdb` and
`pg_ctl` on a private data directory and a free loopback port, with trust authentication limited
to 127.0.0.1, and removes everything on stop. `initdb` refuses to run as root, so when the tests
run as root the cluster belongs to an unprivileged system user and the binaries run via `runuser`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

SUPERUSER = "readypolicy"
SERVER_USERS = ("postgres", "nobody")


class PgServerError(RuntimeError):
    """The throwaway cluster could not be created or started."""


@dataclass(frozen=True)
class PgServer:
    """A running throwaway cluster."""

    bindir: Path
    """Directory holding `initdb`, `pg_ctl` and `postgres`."""
    datadir: Path
    """The cluster's data directory (inside `root`)."""
    root: Path
    """Temporary directory owned by the server user; removed on stop."""
    port: int
    """TCP port on 127.0.0.1."""
    run_as: str | None
    """Unprivileged user the server runs as when the tests run as root, else None."""

    def url(self, dbname: str = "postgres") -> str:
        """Connection URL for one database of the cluster, as the superuser."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def halt(self) -> None:
        """Stop the server at once (as a crash would), keeping its files for `resume`."""
        _run(self, [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop"])

    def resume(self) -> None:
        """Start a halted server again on the same port."""
        _start(self)

    def stop(self) -> None:
        """Stop the server at once and delete its files."""
        try:
            pg_ctl = str(self.bindir / "pg_ctl")
            _run(self, [pg_ctl, "-D", str(self.datadir), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def find_bindir() -> Path | None:
    """The PostgreSQL server binaries: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
    )
    return Path(candidates[-1]).parent if candidates else None


def start_server() -> PgServer:
    """Create and start a cluster; raises PgServerError with the reason when it cannot."""
    bindir = find_bindir()
    if bindir is None:
        raise PgServerError("PostgreSQL server binaries not found; run scripts/install-postgres")
    run_as = _server_user() if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="readypolicy-pg-"))
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = PgServer(bindir=bindir, datadir=root / "data", root=root, port=_free_port(), run_as=run_as)
    try:
        _run(server, [str(bindir / "initdb"), "-D", str(server.datadir), "-U", SUPERUSER, "-A", "trust",
                      "-E", "UTF8", "--locale=C", "--no-sync"])
        (server.datadir / "pg_hba.conf").write_text("host all all 127.0.0.1/32 trust\n")
        _start(server)
    except PgServerError as exc:
        log = root / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise PgServerError(f"{exc}\n{tail}".strip()) from exc
    return server


def _start(server: PgServer) -> None:
    options = (f"-c listen_addresses=127.0.0.1 -c port={server.port} -c unix_socket_directories={server.root}"
               " -c fsync=off -c max_connections=50")
    _run(server, [str(server.bindir / "pg_ctl"), "-D", str(server.datadir), "-l", str(server.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start"])


def _server_user() -> str:
    for name in SERVER_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PgServerError(f"running as root and none of the users {SERVER_USERS} exists to own the cluster")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(server: PgServer, argv: list[str]) -> None:
    if server.run_as is not None:
        argv = ["runuser", "-u", server.run_as, "--", *argv]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=server.root, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PgServerError(f"{argv[0]}: {exc}") from exc
    if done.returncode != 0:
        raise PgServerError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-1000:]}")
