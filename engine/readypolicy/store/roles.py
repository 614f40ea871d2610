"""The SQL that sets up least-privilege roles for a PostgreSQL store (`readypolicy store roles --print-sql`).

Three roles, so that what CI holds cannot rewrite history:
- the owner owns the tables and triggers and runs `store migrate` (and `store prune`, which deletes);
- the writer (CI) may read everything and INSERT evidence, ingest events, decisions and audit
  entries, and nothing else: no UPDATE, DELETE or TRUNCATE, and since it owns nothing it cannot
  alter a table or drop the append-only triggers;
- the reader (auditors, dashboards, a replica, `pg_dump` backups) may only SELECT (tables and their
  identity sequences).

The script is idempotent: a superuser runs it after `store migrate`, and again after any migration
that adds a table. Writers serialize on an advisory lock (store/postgres.py), which needs no table
privilege, so INSERT is all the writer needs.
"""

from __future__ import annotations

import re

from readypolicy.store.interface import StoreError

TABLES = ("evidence", "ingests", "decisions", "audit", "schema_migrations")
"""Every table the PostgreSQL migrations create (tests check the list against the database)."""
APPEND_ONLY = ("evidence", "ingests", "decisions", "audit")
"""Tables the writer appends to; `schema_migrations` is the owner's alone."""
IDENTITY_TABLES = ("evidence", "ingests", "decisions")
"""Tables whose `seq` is an identity column: readers may read its sequence, as `pg_dump` does."""
FUNCTIONS = ("readypolicy_refuse()",)
"""Functions the migrations create (the trigger body that refuses updates and deletes)."""
DEFAULT_ROLES = ("readypolicy_owner", "readypolicy_writer", "readypolicy_reader")
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def role_name(name: str) -> str:
    """A role name as a quoted SQL identifier; only plain lowercase names, so nothing needs escaping."""
    if not _ROLE_NAME.fullmatch(name):
        raise StoreError(f"role name {name!r}: use lowercase letters, digits and _ (at most 63, not starting with a digit)")
    return f'"{name}"'


def roles_sql(owner: str, writer: str, reader: str) -> str:
    """The GRANT/REVOKE script for the three roles (created as LOGIN roles without a password if missing)."""
    names = [role_name(name) for name in (owner, writer, reader)]
    if len(set(names)) != 3:
        raise StoreError("the owner, writer and reader roles must be three different roles")
    own, write, read = names
    tables = ", ".join(TABLES)
    appended = ", ".join(APPEND_ONLY)
    lines = [
        "-- readypolicy store roles: run as a superuser in the store's database, after `readypolicy store migrate`",
        "-- (and again after a migration that adds a table). Set passwords with ALTER ROLE ... PASSWORD.",
        "BEGIN;",
        "DO $$ BEGIN",
        *(f"  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name.strip(chr(34))}') THEN"
          f" CREATE ROLE {name} LOGIN; END IF;" for name in names),
        "  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());",
        f"  EXECUTE format('GRANT CONNECT ON DATABASE %I TO {own}, {write}, {read}', current_database());",
        "END $$;",
        "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
        f"GRANT USAGE, CREATE ON SCHEMA public TO {own};",
        f"GRANT USAGE ON SCHEMA public TO {write}, {read};",
        *(f"ALTER TABLE {table} OWNER TO {own};" for table in TABLES),
        *(f"ALTER FUNCTION {function} OWNER TO {own};" for function in FUNCTIONS),
        *(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC;" for function in FUNCTIONS),
        f"REVOKE ALL ON {tables} FROM PUBLIC, {write}, {read};",
        f"GRANT SELECT ON {tables} TO {write}, {read};",
        f"GRANT INSERT ON {appended} TO {write};",
        "DO $$ BEGIN",
        *(f"  EXECUTE format('GRANT SELECT ON SEQUENCE %s TO {write}, {read}', pg_get_serial_sequence('{table}', 'seq'));"
          for table in IDENTITY_TABLES),
        "END $$;",
        "COMMIT;",
    ]
    return "\n".join(lines) + "\n"
