"""An EPN-TAP 2.0 data collection declared once: a portal's table(s) mapped onto ``<schema>.epn_core``.

A portal describes each collection with one :class:`EPNCollection`: for each EPNCore parameter a SQL
expression over its own table(s) (``columns``) or a value (``constants``), plus any service-specific
columns (``extra``).  vostack then writes the view ``<schema>.epn_core`` with every mandatory parameter of
EPN-TAP 2.0 §2.1 in the standard's types (those not mapped are NULL), and the TAP metadata: units and
UCDs of the standard, those of ``c1``..``c3`` chosen by ``spatial_frame_type``, the table utype
``ivo://ivoa.net/std/epntap#table-2.0``.

:meth:`EPNCollection.check` (at construction) reports every problem of the mapping at once, naming the
columns: a missing required parameter, half a min/max pair, a constant outside the standard's
vocabularies.  :meth:`EPNCollection.start` creates the view and checks the data the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vostack import db, vosi
from vostack.auth import Identity
from vostack.config import ColumnMeta, ConfigError, TableMeta, check_keys, embargo_values
from vostack.epntap.columns import (
    DATAPRODUCT_TYPES,
    EPN_UTYPE,
    FRAMES,
    MANDATORY,
    OPTIONAL,
    PAIRS,
    PROCESSING_LEVELS,
    REGION_TYPES,
    SQL_TYPES,
    TARGET_CLASSES,
    EPNColumn,
    Kind,
    frame_columns,
    is_hash_list_of,
)
from vostack.errors import NotFoundError, VOError
from vostack.registry import Coverage, Relationship, ResourceName, ServiceDescription
from vostack.schema import TableSet

__all__ = ["LINKED", "TAP_AUX", "EPNCollection", "ExtraColumn", "MappingError", "ProductLinks", "collection_from_toml"]

TAP_AUX = "ivo://ivoa.net/std/TAP#aux"
"""The standardID of an auxiliary TAP capability (DDC 1.0 §2; EPN-TAP 2.0 §4.1)."""

_KNOWN: Mapping[str, EPNColumn] = {c.name: c for c in (*MANDATORY, *OPTIONAL)}
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*")
_DEFAULT_PRINCIPAL = ("granule_uid", "dataproduct_type", "target_name", "target_class", "time_min", "time_max",
                      "c1min", "c1max", "c2min", "c2max", "spatial_frame_type", "instrument_host_name",
                      "instrument_name", "access_url", "feature_name", "ra", "dec")  # fmt: skip


class MappingError(VOError):
    """An EPN-TAP mapping or its data break EPN-TAP 2.0; the message names every column at fault."""


@dataclass(frozen=True, slots=True)
class ExtraColumn:
    """A service-specific column of an ``epn_core`` table (EPN-TAP 2.0 §1.2: with a unit and a UCD1+)."""

    expression: str
    kind: Kind
    ucd: str
    unit: str | None = None
    description: str | None = None


#: The EPNCore parameters :class:`ProductLinks` gives (EPN-TAP 2.0 §2.2: access_url with its format and size).
LINKED = ("access_url", "access_format", "access_estsize", "file_name")


@dataclass(frozen=True, slots=True)
class ProductLinks:
    """The granules' files, served by vostack's product endpoint (:class:`vostack.products.ProductService`):
    they give ``access_url``, ``access_format``, ``access_estsize``, ``file_name`` and, with ``thumbnails``,
    ``thumbnail_url`` (EPN-TAP 2.0 §2.2).

    Parameters
    ----------
    store
        The name the files are served under (``[products.<store>]``: ``/products/<store>/<path>``).
    path
        SQL expression over the collection's source: the path of a granule's file in the store (NULL: no file).
    size
        SQL expression: the file's size in bytes (``access_estsize`` is in kbyte, rounded up).
    thumbnails
        The store makes PNG thumbnails of its files (``thumbnail_url``).
    url, media_type
        Where the store is served (an absolute URL ending with ``/``) and the files' media type: set by
        :func:`vostack.publish.build_publication` from the product service; a collection whose links have no
        ``url`` cannot start.
    """

    store: str
    path: str
    size: str
    thumbnails: bool = False
    url: str | None = None
    media_type: str | None = None


#: Text parameters whose values are ASCII by the standard (vocabulary terms, identifiers, media types, URLs):
#: published as VOTable ``char``; the other text (names, descriptions) as ``unicodeChar``, since planetary
#: names carry diacritics (Olympia Rupēs) that ``char``, 7-bit ASCII, cannot (VOTable 1.4 §2.1).
ASCII_TEXT = frozenset(
    {"granule_uid", "granule_gid", "obs_id", "dataproduct_type", "measurement_type", "target_class",
     "spatial_frame_type", "service_title", "access_url", "access_format", "access_md5", "thumbnail_url",
     "datalink_url", "external_link", "messenger", "time_scale", "time_refposition", "coverage"}
)  # fmt: skip


def _text_datatype(name: str, kind: Kind) -> str | None:
    return "unicodeChar" if kind is Kind.TEXT and name not in ASCII_TEXT else None


def _hash_list(value: object, vocabulary: frozenset[str]) -> bool:
    return isinstance(value, str) and is_hash_list_of(value, vocabulary)


def _regex(vocabulary: frozenset[str]) -> str:
    terms = "|".join(sorted(vocabulary))
    return f"^({terms})(#({terms}))*$"


@dataclass(frozen=True, slots=True)
class EPNCollection:
    """One EPN-TAP 2.0 data collection: ``<schema>.epn_core`` over a portal's table(s).

    Parameters
    ----------
    schema
        The schema of the collection, a lower-case SQL identifier; ``service_title`` is this name.
    source
        What the view reads: a qualified table name, or any FROM clause (``a JOIN b ON ...``).
    title, description
        For people: the table's and the registry record's.
    columns
        EPNCore parameter to a SQL expression over ``source``.
    constants
        EPNCore parameter to a value the same for every granule; ``spatial_frame_type`` must be one,
        since the units and UCDs of ``c1``..``c3`` depend on it.
    extra
        Service-specific columns, by name.
    subjects
        Subjects of the registry record, from the Unified Astronomy Thesaurus; EPN-TAP 2.0 §1.2 asks
        for at least one of exoplanet-astronomy, solar-physics, solar-system-astronomy, planetary-science.
    principal
        The columns TAP marks as principal.
    source_reference
        The bibcode of the data's publication, for the registry record.
    products
        The granules' files, served by vostack (access_url and the parameters that go with it).
    owner_group, release_date
        Columns of ``source`` (then a single table) holding an embargo: a granule whose ``release_date`` (a
        timestamp, also the EPNCore ``release_date``) is in the future is seen only by members of its
        ``owner_group`` (a group name): its row in ``epn_core`` and its file.  PostgreSQL enforces it with
        the row policy of :func:`vostack.db.apply_release`, as for SSA.
    metadata_public
        With an embargo: every caller sees the embargoed granules' rows, but their files are refused until
        the release date to all but the owner group (401 for an anonymous caller, 403 for another identity).
    role_prefix
        The prefix of the database roles (``[service] role_prefix``); set from the site's configuration by
        :func:`vostack.publish.build_publication`.
    """

    schema: str
    source: str
    title: str
    description: str
    columns: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, object] = field(default_factory=dict)
    extra: Mapping[str, ExtraColumn] = field(default_factory=dict)
    subjects: tuple[str, ...] = ("planetary-science",)
    principal: tuple[str, ...] = _DEFAULT_PRINCIPAL
    source_reference: str | None = None
    products: ProductLinks | None = None
    owner_group: str | None = None
    release_date: str | None = None
    metadata_public: bool = False
    role_prefix: str = "vostack"

    def __post_init__(self) -> None:
        self.check()

    @property
    def table(self) -> str:
        """The published table, ``<schema>.epn_core`` (EPN-TAP 2.0 §1.2)."""
        return f"{self.schema}.epn_core"

    @property
    def embargoed(self) -> bool:
        """Whether the granules carry an owner group and a release date."""
        return self.owner_group is not None and self.release_date is not None

    @property
    def frame(self) -> str:
        """The value of ``spatial_frame_type``."""
        return str(self.constants["spatial_frame_type"])

    def _given(self, name: str) -> bool:
        embargo = name == "release_date" and self.embargoed
        return name in self.columns or name in self.constants or name in self._linked() or embargo

    def _linked(self) -> tuple[str, ...]:
        """The parameters :attr:`products` gives."""
        if self.products is None:
            return ()
        return (*LINKED, "thumbnail_url") if self.products.thumbnails else LINKED

    def check(self) -> None:
        """Raise one :class:`MappingError` naming every problem of the mapping (EPN-TAP 2.0 §1.2, §2, §3)."""
        problems: list[str] = []
        if not _IDENTIFIER.fullmatch(self.schema):
            problems.append(f"the schema {self.schema!r} must be a lower-case identifier (it is the service_title)")
        unknown = sorted(n for n in (*self.columns, *self.constants) if n not in _KNOWN)
        if unknown:
            problems.append(f"not EPNCore parameters: {', '.join(unknown)} (declare service-specific columns as extra)")
        both = sorted(set(self.columns) & set(self.constants))
        if both:
            problems.append(f"given both as column and constant: {', '.join(both)}")
        linked = sorted((set(self.columns) | set(self.constants)) & set(self._linked()))
        if linked:
            problems.append(f"given by the products and as column or constant: {', '.join(linked)}")
        if self.products is not None and not all((self.products.store, self.products.path, self.products.size)):
            problems.append("products need a store, a path and a size expression")
        clash = sorted(set(self.extra) & set(_KNOWN))
        if clash:
            problems.append(f"extra columns with the names of EPNCore parameters: {', '.join(clash)}")
        bad_names = sorted(n for n in self.extra if not _IDENTIFIER.fullmatch(n))
        if bad_names:
            problems.append(f"extra column names must be lower-case identifiers: {', '.join(bad_names)}")
        missing = [c.name for c in MANDATORY if c.required and c.name != "service_title" and not self._given(c.name)]
        if missing:
            problems.append(f"missing required parameter(s): {', '.join(missing)}")
        for low, high in PAIRS:
            if self._given(low) != self._given(high):
                problems.append(f"{low} and {high} go together: give both or neither")
        if self._given("access_url") and not all(self._given(n) for n in ("access_format", "access_estsize")):
            problems.append("access_url needs access_format and access_estsize (EPN-TAP 2.0 §3)")
        problems += self._embargo_problems()
        problems += self._constant_problems()
        if problems:
            raise MappingError(f"the EPN-TAP mapping of {self.table}: " + "; ".join(problems))

    def _embargo_problems(self) -> list[str]:
        if (self.owner_group is None) != (self.release_date is None):
            return ["an embargo needs both owner_group and release_date columns"]
        if not self.embargoed:
            return ["metadata_public is for an embargo (owner_group and release_date)"] if self.metadata_public else []
        problems = []
        if not _TABLE.fullmatch(self.source):
            problems.append(f"an embargo needs source to be one table (schema.table), not {self.source!r}")
        if "release_date" in self.columns or "release_date" in self.constants:
            problems.append("release_date is the embargo's column: do not give it as column or constant")
        return problems

    def _constant_problems(self) -> list[str]:
        problems: list[str] = []
        constants = self.constants
        frame = constants.get("spatial_frame_type")
        if "spatial_frame_type" in self.columns or frame not in FRAMES:
            problems.append(
                f"spatial_frame_type must be a constant, one of {', '.join(FRAMES)} (the units and UCDs of "
                f"c1..c3 depend on it), not {frame!r}"
            )
        elif frame not in ("celestial", "body") and self._given("s_region"):
            problems.append(f"s_region is for the celestial and body frames, not {frame}")
        if "service_title" in constants and constants["service_title"] != self.schema:
            problems.append(
                f"service_title must be the schema name {self.schema!r}, not {constants['service_title']!r}"
            )
        for name, vocabulary in (("dataproduct_type", DATAPRODUCT_TYPES), ("target_class", TARGET_CLASSES)):
            if name in constants and not _hash_list(constants[name], vocabulary):
                terms = ", ".join(sorted(vocabulary))
                problems.append(f"{name} {constants[name]!r} is not a #-separated list of {terms}")
        level = constants.get("processing_level")
        if "processing_level" in constants and level is not None and level not in PROCESSING_LEVELS:
            problems.append(f"processing_level {level!r} is not one of {sorted(PROCESSING_LEVELS)}")
        access_format = constants.get("access_format")
        if isinstance(access_format, str) and access_format != access_format.lower():
            problems.append(f"access_format {access_format!r} must be in lower case")
        for name, value in constants.items():
            column = _KNOWN.get(name)
            if column is None or value is None:
                if column is not None and column.required:
                    problems.append(f"{name} needs a value in every row, not NULL")
                continue
            expected: tuple[type, ...] = {
                Kind.TEXT: (str,), Kind.INTEGER: (int,), Kind.FLOAT: (int, float), Kind.DOUBLE: (int, float),
                Kind.TIMESTAMP: (dt.date, str), Kind.REGION: (),
            }[column.kind]  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, expected):
                problems.append(f"{name} is {column.kind.value}, so the constant {value!r} does not fit")
        return problems

    # ------------------------------------------------------------------ publishing

    def _link(self, name: str) -> str:
        """The SQL of a parameter :attr:`products` gives (EPN-TAP 2.0 §2.2)."""
        links = self.products
        assert links is not None
        if links.url is None or links.media_type is None:
            raise MappingError(
                f"the files of {self.table} are not served: no product service publishes the store {links.store!r}"
            )
        path, media_type = f"({links.path})", db.quote_literal(links.media_type)
        url = f"{db.quote_literal(links.url)} || {db.url_escaped(path)}"
        return {
            "access_url": url,
            "access_format": f"CASE WHEN {path} IS NOT NULL THEN CAST({media_type} AS text) END",
            "access_estsize": f"CAST(ceil(({links.size}) / 1024.0) AS integer)",  # kbyte, rounded up
            "file_name": f"regexp_replace({path}, '^.*/', '')",
            "thumbnail_url": f"{url} || '?preview'",
        }[name]

    def _expression(self, column: EPNColumn) -> str:
        name = column.name
        if name in self._linked():
            return self._link(name)
        if name == "service_title" and name not in self.constants:
            value: object = self.schema
        elif name in self.constants:
            value = self.constants[name]
        else:
            value = None
        if column.kind is Kind.REGION:
            return f"({self.columns[name]})" if name in self.columns else "NULL::spoint"
        sql_type = SQL_TYPES[column.kind]
        if name == "release_date" and self.release_date is not None:
            return f"CAST({db.quote_ident(self.release_date)} AS {sql_type})"
        if name in self.columns:
            return f"CAST(({self.columns[name]}) AS {sql_type})"
        return f"CAST({db.quote_literal(value)} AS {sql_type})"

    def view_sql(self) -> str:
        """The DDL of ``<schema>.epn_core``: mandatory parameters in the standard's order, then the optional
        ones given, then the extra columns (EPN-TAP 2.0 §3).  Its comment is :meth:`view_comment`."""
        schema, view = db.quote_ident(self.schema), f"{db.quote_ident(self.schema)}.epn_core"
        return (
            f"CREATE SCHEMA IF NOT EXISTS {schema};\nDROP VIEW IF EXISTS {view};\n"
            f"CREATE VIEW {view}{self._options()} AS {self._definition()};\n"
            f"COMMENT ON VIEW {view} IS {db.quote_literal(self.view_comment())};\n"
        )

    def view_comment(self) -> str:
        """The view's comment: its title and a digest of its definition, so that a server finding the view as
        it would make it leaves it alone (servers starting together must not recreate it under each other)."""
        digest = hashlib.sha256((self._options() + self._definition()).encode()).hexdigest()[:32]
        return f"{self.title} (generated by vostack, {digest})"

    def _options(self) -> str:
        """With an embargo the view reads its table as its reader does, so that the release policy applies."""
        return " WITH (security_invoker = true)" if self.embargoed else ""

    def _definition(self) -> str:
        items = [(c.name, self._expression(c)) for c in MANDATORY]
        items += [(c.name, self._expression(c)) for c in OPTIONAL if self._given(c.name)]
        items += [
            (name, f"CAST(({extra.expression}) AS {SQL_TYPES[extra.kind]})" if extra.kind in SQL_TYPES
             else f"({extra.expression})")
            for name, extra in self.extra.items()
        ]  # fmt: skip
        select = ",\n    ".join(f"{expression} AS {db.quote_ident(name)}" for name, expression in items)
        return f"SELECT\n    {select}\nFROM {self.source}"

    def table_meta(self) -> TableMeta:
        """The TAP metadata of ``<schema>.epn_core``: the standard's units, UCDs and utype (EPN-TAP 2.0 §3, §4)."""
        by_frame = frame_columns(self.frame)
        columns: dict[str, ColumnMeta] = {}
        for column in (*MANDATORY, *(c for c in OPTIONAL if self._given(c.name))):
            unit, ucd = by_frame.get(column.name, (column.unit, column.ucd))
            columns[column.name] = ColumnMeta(
                description=column.description,
                unit=unit,
                ucd=ucd,
                principal=column.name in self.principal,
                std=True,
                datatype=_text_datatype(column.name, column.kind),
                xtype="moc" if column.name == "coverage" else None,  # EPN-TAP 2.0 §2.2: a MOC 2.0 ASCII string
            )
        for name, extra in self.extra.items():
            columns[name] = ColumnMeta(
                description=extra.description,
                unit=extra.unit,
                ucd=extra.ucd,
                principal=name in self.principal,
                datatype=_text_datatype(name, extra.kind),
            )
        return TableMeta(description=self.description, utype=EPN_UTYPE, columns=columns)

    def _data_checks(self) -> list[tuple[str, str, str]]:
        """``(what is wrong, SQL condition of a wrong row, column to show)`` for the rows of the view."""
        checks = [
            (f"{c.name} is NULL (it needs a value in every row)", f"{c.name} IS NULL", "granule_uid")
            for c in MANDATORY
            if c.required
        ]
        levels = ", ".join(str(v) for v in sorted(PROCESSING_LEVELS))
        checks += [
            (f"{name} is outside the EPN-TAP 2.0 vocabulary", f"{name} !~ '{_regex(vocabulary)}'", name)
            for name, vocabulary in (("dataproduct_type", DATAPRODUCT_TYPES), ("target_class", TARGET_CLASSES))
        ]
        checks.append(
            (f"processing_level is not one of {levels}", f"processing_level NOT IN ({levels})", "processing_level")
        )
        angular = self.frame in ("celestial", "body")
        for low, high in PAIRS:
            if not self._given(low):
                continue
            checks.append((f"{low} and {high}: one is NULL", f"({low} IS NULL) <> ({high} IS NULL)", low))
            if angular and low == "c1min":  # longitudes may wrap: c1min > c1max crosses 0
                outside = "c1min < 0 OR c1min > 360 OR c1max < 0 OR c1max > 360"
                checks.append(("c1min or c1max is outside 0..360", outside, low))
            else:
                checks.append((f"{low} is greater than {high}", f"{low} > {high}", low))
            if angular and low == "c2min":
                checks.append(("c2min or c2max is outside -90..90", "c2min < -90 OR c2max > 90", low))
        if self._given("access_format"):
            lower = "access_format <> lower(access_format)"
            checks.append(("access_format is not in lower case", lower, "access_format"))
        return checks

    async def start(self, pool: db.Pool) -> None:
        """Create the view and check it against EPN-TAP 2.0: its column types, then every row.

        Raises :class:`MappingError` naming each column at fault, with an example value.
        """
        # once, by the first of the servers starting together; a view as this one would make it is left alone
        await db.ensure_relation(pool, relation=self.table, comment=self.view_comment(), sql=self.view_sql())
        described = (await db.describe_tables(pool, [self.table]))[self.table]
        region = next(c.db_type for c in described.columns if c.name == "s_region")
        problems = []
        if region not in REGION_TYPES:
            problems.append(f"s_region is {region}, not one of the pgSphere types {', '.join(sorted(REGION_TYPES))}")
        checks = self._data_checks()
        view = f"{db.quote_ident(self.schema)}.epn_core"
        counts_sql = "SELECT " + ", ".join(f"count(*) FILTER (WHERE {cond})" for _, cond, _ in checks)
        counts_sql += f", count(*) - count(DISTINCT granule_uid) FROM {view}"
        async with db.open_cursor(pool, counts_sql, statement_timeout=600) as cursor:
            (counts,) = await cursor.fetch(1)
        for (what, condition, shown), count in zip(checks, counts, strict=False):
            if count:
                sql = f"SELECT granule_uid, {shown} FROM {view} WHERE {condition} LIMIT 1"
                async with db.open_cursor(pool, sql, statement_timeout=600) as cursor:
                    ((uid, value),) = await cursor.fetch(1)
                problems.append(f"{what}: {count} row(s), e.g. granule_uid {uid!r} with {shown} = {value!r}")
        if counts[-1]:
            problems.append(f"granule_uid is not unique: {counts[-1]} duplicate(s)")
        if problems:
            raise MappingError(f"the data of {self.table} break EPN-TAP 2.0: " + "; ".join(problems))
        if self.owner_group is not None and self.release_date is not None:
            await db.apply_release(
                pool,
                prefix=self.role_prefix,
                table=self.source,
                owner_group=self.owner_group,
                release_date=self.release_date,
                metadata_public=self.metadata_public,
            )

    async def check_file(self, pool: db.Pool, path: str, *, identity: Identity, role: str | None) -> bool:
        """Whether a granule names the file at ``path`` of :attr:`products`' store; raise when the caller
        (``identity``, whose queries run as ``role``) may not have it (EPN-TAP 2.0 §2.2 ``release_date``).

        A file of an embargoed granule the caller does not see is as unknown as a missing one (404); when
        the metadata are public it is refused (401 anonymous, 403 another identity).  PostgreSQL decides,
        for ``role``: the row policy hides the granule, :func:`vostack.db.release_condition` refuses its file.
        """
        links = self.products
        if links is None or self.owner_group is None or self.release_date is None:
            return False
        source = ".".join(db.quote_ident(part) for part in self.source.split(".", 1))
        condition = db.release_condition(
            self.role_prefix, db.quote_ident(self.owner_group), db.quote_ident(self.release_date)
        )
        where = f"FROM {source} WHERE ({links.path}) = $1 LIMIT 1"
        async with db.open_cursor(
            pool, f"SELECT {condition} {where}", statement_timeout=10, args=(path,), role=role
        ) as cursor:
            seen = await cursor.fetch(1)
        if seen:
            if not seen[0][0]:
                raise identity.refusal(f"the file {path!r} of {self.table} is not released yet")
            return True
        async with db.open_cursor(pool, f"SELECT 1 {where}", statement_timeout=10, args=(path,)) as cursor:
            if await cursor.fetch(1):  # a granule the caller's role does not see: as for no file at all
                raise NotFoundError(f"no product file {path!r}")  # what the stores say of a missing one
        return False

    async def stop(self) -> None:
        """Nothing to release (the view stays)."""

    # ------------------------------------------------------------------ registry

    def describe(
        self,
        *,
        tap: ResourceName,
        tap_path: str,
        tableset: Callable[[], TableSet | None],
        coverage: Callable[[str], Coverage | None] | None = None,
        key: str | None = None,
    ) -> ServiceDescription:
        """The registry record of the collection (EPN-TAP 2.0 §4.1): a ``vs:CatalogService`` with an auxiliary
        TAP capability (``TAP#aux``) at the TAP service's URL, ``IsServedBy`` that service, and a tableset
        with its ``epn_core`` table only.

        ``tap`` names the TAP service's record, ``tap_path`` is where it is mounted below the site's URL,
        ``tableset`` gives the TAP service's published tables.
        """

        def capabilities(url: str) -> list[vosi.Capability]:
            return [vosi.Capability(TAP_AUX, (vosi.Interface(url, version="1.1", use="base"),))]

        def own_tables() -> TableSet | None:
            published = tableset()
            return published.only(self.table) if published is not None else None

        return ServiceDescription(
            key=key or f"epn/{self.schema}",
            title=self.title,
            description=self.description,
            capabilities=capabilities,
            path=tap_path,
            tableset=own_tables,
            subjects=self.subjects,
            relationships=(Relationship("IsServedBy", (tap,)),),
            source=self.source_reference,
            source_format="bibcode" if self.source_reference else None,
            coverage=coverage,
        )


# ---------------------------------------------------------------------- TOML

_TOML_KEYS = {"source", "title", "description", "columns", "constants", "extra", "subjects", "principal",
              "source_reference", "products", "owner_group", "release_date", "metadata_public"}  # fmt: skip
_EXTRA_KEYS = {"expression", "type", "ucd", "unit", "description"}
_PRODUCT_KEYS = {"store": str, "path": str, "size": str, "thumbnails": bool}


def _links(where: str, data: Any) -> ProductLinks | None:
    """The ``[epntap.<schema>.products]`` table: the granules' files in a ``[products.<store>]``."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}.products must be a table (store, path, size, thumbnails)")
    for key, value in data.items():
        kind = _PRODUCT_KEYS.get(key)
        if kind is None or isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            allowed = ", ".join(f"{k} ({t.__name__})" for k, t in _PRODUCT_KEYS.items())
            raise ConfigError(f"{where}.products: {key} = {value!r} does not fit; allowed: {allowed}")
    missing = [key for key in ("store", "path", "size") if not data.get(key)]
    if missing:
        raise ConfigError(f"{where}.products: {', '.join(missing)} required (the store's name, SQL expressions)")
    return ProductLinks(data["store"], data["path"], data["size"], thumbnails=data.get("thumbnails", False))


def collection_from_toml(schema: str, data: Mapping[str, Any]) -> EPNCollection:
    """An :class:`EPNCollection` from its ``[epntap.<schema>]`` TOML table.

    .. code-block:: toml

        [epntap.gazetteer]
        source = "planetary.nomenclature"
        title = "..."
        description = "..."
        subjects = ["planetary-surfaces", "planetary-science"]
        [epntap.gazetteer.columns]            # EPNCore parameter = SQL expression
        granule_uid = "'usgs-' || feature_id"
        [epntap.gazetteer.constants]          # EPNCore parameter = value
        dataproduct_type = "ci"
        spatial_frame_type = "body"
        [epntap.gazetteer.extra.name_origin]  # a service-specific column
        expression = "origin"
        type = "text"
        ucd = "meta.note"
        [epntap.maps.products]                # files served at /products/<store>/<path>
        store = "maps"                        # a [products.maps] store
        path = "file_name"                    # SQL: the file's path in the store
        size = "file_size"                    # SQL: its size in bytes
        thumbnails = true                     # PNG thumbnails: thumbnail_url

    An embargo (``source`` must then be one table): ``owner_group = "owner"`` and ``release_date =
    "released"`` name its columns (the release date is then the EPNCore ``release_date``), and
    ``metadata_public = true`` shows the embargoed granules' rows to everyone, their files staying private.
    """
    where = f"[epntap.{schema}]"
    check_keys(where, data, _TOML_KEYS)
    for key in ("source", "title", "description"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ConfigError(f"{where}: {key} is required (a string)")
    columns = data.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise ConfigError(f"{where}.columns: each parameter maps to a SQL expression (a string)")
    extra = {}
    for name, item in data.get("extra", {}).items():
        if not isinstance(item, dict) or set(item) - _EXTRA_KEYS or not {"expression", "type", "ucd"} <= set(item):
            raise ConfigError(f"{where}.extra.{name}: needs expression, type and ucd (optional: unit, description)")
        try:
            kind = Kind(item["type"])
        except ValueError:
            raise ConfigError(f"{where}.extra.{name}: type must be one of {', '.join(k.value for k in Kind)}") from None
        extra[name] = ExtraColumn(item["expression"], kind, item["ucd"], item.get("unit"), item.get("description"))
    embargo = embargo_values(where, data)
    try:
        return EPNCollection(
            schema=schema,
            source=data["source"],
            title=data["title"].strip(),
            description=" ".join(data["description"].split()),
            columns=columns,
            constants=dict(data.get("constants", {})),
            extra=extra,
            subjects=tuple(data.get("subjects", ("planetary-science",))),
            principal=tuple(data.get("principal", _DEFAULT_PRINCIPAL)),
            source_reference=data.get("source_reference"),
            products=_links(where, data.get("products")),
            **embargo,
        )
    except MappingError as exc:
        raise ConfigError(f"{where}: {exc.message}") from None
