"""Wire configuration to implementations: which store, engine and policy set a command uses.

The CLI stays thin by asking this module for ready objects; tests and the benchmark use the same
wiring, so what they measure is what users run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from readypolicy.config import Config
from readypolicy.engines.interface import RegoEngine
from readypolicy.engines.locate import find_opa
from readypolicy.engines.opa_binary import OpaBinary
from readypolicy.engines.opa_cli import OpaCliEngine
from readypolicy.engines.prestarted import PrestartedEngine
from readypolicy.policy import stage
from readypolicy.policy.interface import PolicySet
from readypolicy.policy.pack import load_pack, pack_dir
from readypolicy.store.interface import Store
from readypolicy.store.open import is_postgres, open_store


@dataclass
class Runtime:
    """Lazily opened collaborators for one command."""

    config: Config
    """Resolved settings."""
    _store: Store | None = field(default=None, init=False)
    _policies: dict[tuple[str, Path | None], PolicySet] = field(default_factory=dict, init=False)
    _prestarted: PrestartedEngine | None = field(default=None, init=False)

    @property
    def store(self) -> Store:
        """The configured store, which must already exist (opened on first use).

        Commands that read (eval, evidence, report, drift, replay, audit) use this: a missing
        store is an error, never a new empty one that a gate would then read as "nothing to decide".
        """
        return self._open(create=False)

    @property
    def writable_store(self) -> Store:
        """The configured store for a command that writes (ingest, policy approve).

        A SQLite file is created with its schema if need be (the zero-setup path); a PostgreSQL
        store is migrated only with `store_auto_migrate`, since creating tables is the owner
        role's act (`readypolicy store migrate`), not the CI writer's.
        """
        url = self.config.store_url()
        return self._open(create=not is_postgres(url) or self.config.store_auto_migrate)

    def _open(self, create: bool) -> Store:
        if self._store is None:
            self._store = open_store(self.config.store_url(), create=create, timeout_s=self.config.store_timeout_s)
        return self._store

    @property
    def cache_dir(self) -> Path:
        """Where staged policies and OPA facts are cached."""
        return self.config.path(self.config.cache_dir)

    def opa(self) -> OpaBinary:
        """The OPA binary with its cache and deadline."""
        path = find_opa(self.config.opa, self.config.root)
        return OpaBinary(path=path, cache_dir=self.cache_dir / "opa", timeout_s=self.config.opa_timeout_s)

    def engine(self, server: str | None = None) -> RegoEngine:
        """The Rego engine: an OPA server at `server` if given, else the OPA binary as a subprocess.

        After `prestart`, the OPA binary's engine is the one holding the process started ahead.
        """
        if server is None and self._prestarted is not None:
            return self._prestarted
        if server is not None:
            from readypolicy.engines.opa_server import OpaServerEngine  # urllib/http only when used

            return OpaServerEngine(server, timeout_s=self.config.opa_timeout_s)
        return OpaCliEngine(self.opa())

    def prestart(self, lane: str, pack: str | None = None, bundle: Path | None = None) -> None:
        """Start OPA for `lane` of that policy now, before the store is opened; the evaluation takes it over.

        OPA reads its input before it compiles, so this only overlaps its start-up (the Go runtime, about
        20 ms) with opening the store and resolving the subject. The process is ended by `close` if
        nothing took it (a subject error, a crash), and its deadline runs from here.
        """
        policy = self.policy(pack=pack, bundle=bundle)
        earlier, self._prestarted = self._prestarted, None
        if earlier is not None:  # one process started ahead at a time
            earlier.close()
        # `location`, not `load`: the evaluation taking this process over checks the staged files
        # (`stage.load`) before OPA gets its input, and OPA reads no file before its input.
        self._prestarted = PrestartedEngine(self.engine(), stage.location(policy, self.cache_dir), policy.query(lane))

    @property
    def lanes(self) -> tuple[str, ...]:
        """Lanes to decide and report, in promotion order: the `lanes` setting, else the configured pack's.

        A pack writes its lane list once (`lane_order` in its config data, which its Rego reads too), so
        Python and policy cannot disagree on the order.
        """
        return self.config.lanes or tuple(self.policy().lanes)

    def policy(self, pack: str | None = None, bundle: Path | None = None) -> PolicySet:
        """The policy set of a built bundle if given, else of the configured (or named) pack.

        Read once per command: every lane one `eval` decides uses the same files (a pack edited while
        the command runs cannot give two lanes two policies), and the pack's YAML is parsed once, not
        once per lane list, catalog and evaluation (about a tenth of a gate's CPU).
        """
        key = (pack or self.config.pack, bundle)
        if key not in self._policies:
            if bundle is not None:
                from readypolicy.policy.bundle_read import read_bundle  # tarfile only when a bundle file is read

                self._policies[key] = read_bundle(bundle)
            else:
                self._policies[key] = load_pack(pack_dir(self.config.path(self.config.policies), key[0], self.config.root))
        return self._policies[key]

    def close(self) -> None:
        """End an OPA process started ahead that nothing took, and release the store."""
        prestarted, self._prestarted = self._prestarted, None
        try:
            if prestarted is not None:
                prestarted.close()
        finally:
            if self._store is not None:
                self._store.close()
