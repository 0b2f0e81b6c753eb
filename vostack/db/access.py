"""Visibility enforced by PostgreSQL: a role per group, privileges per table and column, row security on TAP_SCHEMA.

The translator already refuses tables and columns an identity may not see; this module makes the
database refuse them too, so that a bug in the translator cannot leak a private row (defence in depth):

* ``<prefix>_anon`` (``NOLOGIN``) may read what everyone sees: the public tables and columns, and
  TAP_SCHEMA; each group has ``<prefix>_g_<group>``, a member of ``<prefix>_anon``, which may read
  what the group's members see in addition; an identity in several groups gets a role that is a member
  of each of theirs (``<prefix>_c_<hash>``), made when it first calls;
* every query then runs under the role of its identity (``SET LOCAL ROLE``, see
  :func:`vostack.db.open_statement`): PostgreSQL refuses a table or column the role may not read
  ("permission denied"), whatever SQL it is given;
* the rows of TAP_SCHEMA are filtered by row-level security: a reader role sees the rows of the
  schemas, tables, columns and keys it may read, and TAP_SCHEMA queries give exactly that.

The login role creates the roles (it needs ``CREATEROLE``, or the roles made beforehand by an
administrator) and grants itself each one, so that it may ``SET ROLE`` to it.  Role names are
cluster-wide: sites sharing a cluster share the roles of the same prefix, and each grants them only
on its own tables.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import asyncpg

from vostack.db.catalog import quote_ident, quote_literal
from vostack.db.errors import map_errors
from vostack.errors import VOError

__all__ = [
    "TableGrant",
    "TapSchemaRule",
    "apply_access",
    "apply_release",
    "group_role",
    "group_roles",
    "reader_role",
    "release_condition",
    "role_name",
]

_SLUG = re.compile(r"^[a-z0-9_]{1,32}$")


def _slug(text: str) -> str:
    lowered = text.lower()
    return lowered if _SLUG.match(lowered) else hashlib.sha256(text.encode()).hexdigest()[:16]


def group_role(prefix: str, group: str) -> str:
    """The role of ``group``'s members."""
    return f"{prefix}_g_{_slug(group)}"


def role_name(prefix: str, groups: Iterable[str]) -> str:
    """The role queries of an identity in ``groups`` (the ones the rules name) run under."""
    mine = sorted(set(groups))
    if not mine:
        return f"{prefix}_anon"
    if len(mine) == 1:
        return group_role(prefix, mine[0])
    return f"{prefix}_c_" + hashlib.sha256("\x00".join(mine).encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class TableGrant:
    """Who may read a database table: ``groups`` (empty: everyone), and the groups of restricted ``columns``.

    ``name`` is the table's qualified database name; ``all_columns`` every column it has.
    """

    name: str
    all_columns: tuple[str, ...]
    groups: frozenset[str] = frozenset()
    columns: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TapSchemaRule:
    """A row of TAP_SCHEMA's access table: the rows of ``table`` (published name; with ``column``, that
    column's row) are seen by members of one of ``groups``.  A table may have several rules (its schema's
    and its own): all must hold."""

    table: str
    groups: frozenset[str]
    column: str | None = None


def _qualified(name: str) -> str:
    schema, _, table = name.partition(".")
    return f"{quote_ident(schema)}.{quote_ident(table)}"


async def _ensure_role(conn: asyncpg.Connection, role: str, members_of: Sequence[str] = ()) -> None:
    """``role`` exists (``NOLOGIN``), is a member of ``members_of``, and the login role may ``SET ROLE`` to it."""
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    if not exists:
        try:
            async with conn.transaction():  # a savepoint: the role may be made meanwhile in another database
                await conn.execute(f"CREATE ROLE {quote_ident(role)} NOLOGIN")
        except asyncpg.DuplicateObjectError:
            pass
    for parent in members_of:
        await conn.execute(f"GRANT {quote_ident(parent)} TO {quote_ident(role)}")
    superuser = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = session_user")
    if not superuser:
        await conn.execute(f"GRANT {quote_ident(role)} TO SESSION_USER")


def _access_sql(tap_schema: str, prefix: str) -> str:
    ts = quote_ident(tap_schema)
    sees = f"{ts}.vostack_sees"
    return f"""
CREATE TABLE IF NOT EXISTS {ts}.vostack_access (table_name text NOT NULL, column_name text, roles text[] NOT NULL);
REVOKE ALL ON {ts}.vostack_access FROM PUBLIC;
CREATE OR REPLACE FUNCTION {sees}(reader name, t text, c text DEFAULT NULL) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
  SELECT NOT EXISTS (
    SELECT 1 FROM {ts}.vostack_access a
    WHERE lower(a.table_name) = lower(t) AND (a.column_name IS NULL OR a.column_name = c)
      AND NOT EXISTS (SELECT 1 FROM pg_roles r
                      WHERE r.rolname = ANY (a.roles) AND pg_has_role(reader, r.oid, 'MEMBER')))
$$;
ALTER TABLE {ts}.schemas ENABLE ROW LEVEL SECURITY;
ALTER TABLE {ts}.tables ENABLE ROW LEVEL SECURITY;
ALTER TABLE {ts}.columns ENABLE ROW LEVEL SECURITY;
ALTER TABLE {ts}.keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE {ts}.key_columns ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS vostack_read ON {ts}.schemas;
DROP POLICY IF EXISTS vostack_read ON {ts}.tables;
DROP POLICY IF EXISTS vostack_read ON {ts}.columns;
DROP POLICY IF EXISTS vostack_read ON {ts}.keys;
DROP POLICY IF EXISTS vostack_read ON {ts}.key_columns;
CREATE POLICY vostack_read ON {ts}.tables FOR SELECT USING ({sees}(current_user, table_name));
CREATE POLICY vostack_read ON {ts}.schemas FOR SELECT USING (EXISTS (
  SELECT 1 FROM {ts}.tables x WHERE x.schema_name = schemas.schema_name));
CREATE POLICY vostack_read ON {ts}.columns FOR SELECT USING (
  {sees}(current_user, table_name) AND {sees}(current_user, table_name, column_name));
CREATE OR REPLACE FUNCTION {ts}.vostack_sees_key(reader name, key text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
  SELECT EXISTS (
    SELECT 1 FROM {ts}.keys k
    WHERE k.key_id = key AND {sees}(reader, k.from_table) AND {sees}(reader, k.target_table)
      AND NOT EXISTS (SELECT 1 FROM {ts}.key_columns kc WHERE kc.key_id = k.key_id AND NOT (
        {sees}(reader, k.from_table, kc.from_column) AND {sees}(reader, k.target_table, kc.target_column))))
$$;
CREATE POLICY vostack_read ON {ts}.keys FOR SELECT USING ({ts}.vostack_sees_key(current_user, key_id));
CREATE POLICY vostack_read ON {ts}.key_columns FOR SELECT USING ({ts}.vostack_sees_key(current_user, key_id));
COMMENT ON TABLE {ts}.vostack_access IS {quote_literal(f"who sees which TAP_SCHEMA rows (roles {prefix}_*)")};
"""


async def apply_access(
    pool: asyncpg.Pool,
    *,
    prefix: str,
    tables: Sequence[TableGrant],
    tap_schema: str | None = None,
    tap_schema_rules: Sequence[TapSchemaRule] = (),
) -> None:
    """Create the roles and set the privileges of ``tables``, and TAP_SCHEMA's row security (module docstring).

    Every privilege the roles had on these tables is revoked first, so a table that became private is
    private.  ``tap_schema`` (the database schema of a TAP_SCHEMA vostack generated) gets
    ``tap_schema_rules``; its own tables are readable by everyone, filtered row by row.
    """
    anon = role_name(prefix, ())
    groups = sorted({g for t in tables for g in t.groups | frozenset().union(*t.columns.values())}
                    | {g for r in tap_schema_rules for g in r.groups})  # fmt: skip
    roles = [anon, *(group_role(prefix, g) for g in groups)]
    try:
        with map_errors():
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('vostack roles'))")
                await _ensure_role(conn, anon)
                for group in groups:
                    await _ensure_role(conn, group_role(prefix, group), members_of=[anon])
                schemas = sorted({t.name.partition(".")[0] for t in tables})
                for schema in schemas:
                    await conn.execute(f"GRANT USAGE ON SCHEMA {quote_ident(schema)} TO {quote_ident(anon)}")
                for table in tables:
                    await conn.execute(_grants(table, prefix, roles))
                if tap_schema is not None:
                    await conn.execute(_access_sql(tap_schema, prefix))
                    ts = quote_ident(tap_schema)
                    await conn.execute(f"DELETE FROM {ts}.vostack_access")
                    await conn.executemany(
                        f"INSERT INTO {ts}.vostack_access (table_name, column_name, roles) VALUES ($1, $2, $3)",
                        [(r.table, r.column, [group_role(prefix, g) for g in sorted(r.groups)])
                         for r in tap_schema_rules],
                    )  # fmt: skip
    except asyncpg.InsufficientPrivilegeError as exc:
        raise VOError(
            f"visibility rules need the database user to create roles and grant privileges ({exc}); give it "
            f"CREATEROLE and ownership of the published tables, or create the roles {prefix}_anon and "
            f"{prefix}_g_<group> beforehand"
        ) from None


def _grants(table: TableGrant, prefix: str, roles: Sequence[str]) -> str:
    """The REVOKEs and GRANTs of one table (column privileges where columns are restricted)."""
    name = _qualified(table.name)
    everyone = ", ".join(quote_ident(r) for r in roles)
    all_columns = ", ".join(quote_ident(c) for c in table.all_columns)
    statements = [f"REVOKE ALL ON {name} FROM {everyone}"]
    if all_columns:
        statements.append(f"REVOKE ALL ({all_columns}) ON {name} FROM {everyone}")
    readers = [role_name(prefix, ())] if not table.groups else [group_role(prefix, g) for g in sorted(table.groups)]
    open_columns = [c for c in table.all_columns if c not in table.columns]
    for reader in readers:
        if not table.columns:
            statements.append(f"GRANT SELECT ON {name} TO {quote_ident(reader)}")
        elif open_columns:
            cols = ", ".join(quote_ident(c) for c in open_columns)
            statements.append(f"GRANT SELECT ({cols}) ON {name} TO {quote_ident(reader)}")
    for column, groups in table.columns.items():
        for group in sorted(groups):
            statements.append(
                f"GRANT SELECT ({quote_ident(column)}) ON {name} TO {quote_ident(group_role(prefix, group))}"
            )
    return ";\n".join(statements)


async def reader_role(pool: asyncpg.Pool, prefix: str, groups: Iterable[str]) -> str:
    """The role of an identity in ``groups`` (the ones the rules name), made when it is a new combination."""
    mine = sorted(set(groups))
    role = role_name(prefix, mine)
    if len(mine) > 1:
        with map_errors():
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('vostack roles'))")
                await _ensure_role(conn, role, members_of=[group_role(prefix, g) for g in mine])
    return role


async def group_roles(pool: asyncpg.Pool, prefix: str) -> frozenset[str]:
    """The group roles of ``prefix`` that exist (made by :func:`apply_access` or :func:`apply_release`)."""
    with map_errors():
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)", f"{prefix}_g_")
    return frozenset(r["rolname"] for r in rows)


def release_condition(prefix: str, owner_group: str, release_date: str) -> str:
    """SQL: whether the current role may have a product whose owner group and release date are the SQL
    expressions ``owner_group`` and ``release_date`` (no owner or no date, released, or the role is in the group).

    The row policy of :func:`apply_release` and the checks before serving a product's file use it, so
    PostgreSQL decides both for the role a request runs under.
    """
    return (
        f"({release_date} IS NULL OR {release_date} <= now() OR {owner_group} IS NULL OR EXISTS ("
        f"SELECT 1 FROM pg_roles r WHERE r.rolname = {quote_literal(prefix + '_g_')} || lower({owner_group}) "
        f"AND pg_has_role(current_user, r.oid, 'MEMBER')))"
    )


async def apply_release(
    pool: asyncpg.Pool,
    *,
    prefix: str,
    table: str,
    owner_group: str,
    release_date: str,
    metadata_public: bool = False,
) -> frozenset[str]:
    """Row-level security on a product table: a row whose ``release_date`` (a column) is in the future is seen
    only by members of its ``owner_group`` (a column holding a group name); returns the owner groups.

    Reader roles (``<prefix>_anon`` and the group roles, made here for every owner group in the table) may
    read the table; the policy does the rest, for every query that runs under a reader role, whatever SQL
    reaches the table (SSA, DataLink, ObsCore and EPN-TAP views made with ``security_invoker``).  Group names
    are compared as role names: lower-case letters, digits and ``_`` (others never match: their embargoed
    rows stay hidden until released).  With ``metadata_public`` every reader sees every row (the portal makes
    the metadata public) and only the files stay private: services check :func:`release_condition` for them.
    """
    name = _qualified(table)
    owner, release = quote_ident(owner_group), quote_ident(release_date)
    anon = role_name(prefix, ())
    rule = "true" if metadata_public else release_condition(prefix, owner, release)
    policy = f"CREATE POLICY vostack_release ON {name} FOR SELECT USING ({rule})"
    try:
        with map_errors():
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('vostack roles'))")
                groups = frozenset(
                    r[0] for r in await conn.fetch(f"SELECT DISTINCT {owner} FROM {name} WHERE {owner} IS NOT NULL")
                )
                await _ensure_role(conn, anon)
                for group in sorted(groups):
                    await _ensure_role(conn, group_role(prefix, group), members_of=[anon])
                schema = quote_ident(table.partition(".")[0])
                await conn.execute(
                    f"GRANT USAGE ON SCHEMA {schema} TO {quote_ident(anon)};\n"
                    f"GRANT SELECT ON {name} TO {quote_ident(anon)};\n"
                    f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;\n"
                    f"DROP POLICY IF EXISTS vostack_release ON {name};\n{policy}"
                )
    except asyncpg.InsufficientPrivilegeError as exc:
        raise VOError(f"release dates need the database user to own {table} and create roles ({exc})") from None
    return groups
