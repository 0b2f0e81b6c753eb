"""PostgreSQL access: the only package that imports asyncpg.

Pools are the portal's; vostack borrows them (``init=init_connection``).
asyncpg errors are converted to :mod:`vostack.errors` here and nowhere else.
"""

from __future__ import annotations

from vostack.db.access import (
    TableGrant,
    TapSchemaRule,
    apply_access,
    apply_release,
    group_role,
    group_roles,
    reader_role,
    release_condition,
    role_name,
)
from vostack.db.aggregate import fetch_all
from vostack.db.catalog import (
    CatalogColumn,
    CatalogTable,
    describe_tables,
    generate_tap_schema,
    quote_ident,
    quote_literal,
    read_tap_schema,
    url_escaped,
)
from vostack.db.cursor import CopyReader, ResultColumn, ResultCursor, Statement, open_cursor, open_statement
from vostack.db.load import copy_rows, execute, row_count
from vostack.db.locks import ensure_relation, exclusive
from vostack.db.pool import Connection, Pool, create_pool, init_connection, ping, reset_connection
from vostack.db.replicas import PoolBorrower, ReadPools, ReplicaState
from vostack.db.upload import TEMP_SCHEMA, TempTable

__all__ = [
    "TEMP_SCHEMA",
    "CatalogColumn",
    "CatalogTable",
    "Connection",
    "CopyReader",
    "Pool",
    "PoolBorrower",
    "ReadPools",
    "ReplicaState",
    "ResultColumn",
    "ResultCursor",
    "Statement",
    "TableGrant",
    "TapSchemaRule",
    "TempTable",
    "apply_access",
    "apply_release",
    "copy_rows",
    "create_pool",
    "describe_tables",
    "ensure_relation",
    "exclusive",
    "execute",
    "fetch_all",
    "generate_tap_schema",
    "group_role",
    "group_roles",
    "init_connection",
    "open_cursor",
    "open_statement",
    "ping",
    "quote_ident",
    "quote_literal",
    "read_tap_schema",
    "reader_role",
    "release_condition",
    "reset_connection",
    "role_name",
    "row_count",
    "url_escaped",
]
