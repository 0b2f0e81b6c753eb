"""A collection of image files as a product table with ObsCore 1.1 columns, one branch of ``ivoa.obscore``.

:meth:`ImageCollection.load` describes each file from its header (:func:`vostack.sia.images.describe_image`,
in worker threads), reports per file what it lacks, and writes the table anew: the ObsCore columns, the
footprint as a pgSphere polygon with a GiST index (SIA 2.0 POS), the file's path in the product store, the
image HDU, and optionally an owner group and release date (an embargo enforced by PostgreSQL's row security,
:func:`vostack.db.apply_release`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from vostack import db
from vostack.config import ServiceConfig
from vostack.errors import NotFoundError
from vostack.obscore import FOOTPRINT, OBSCORE_COLUMNS
from vostack.products import FileStore
from vostack.sia.images import ImageError, ImageRecord, describe_image

__all__ = ["FITS", "ImageCollection", "ImageFile", "LoadReport"]

FITS = "application/fits"

#: What makes the ObsCore record of a file (``calib_level`` is the collection's default).
Describe = Callable[..., ImageRecord]

log = logging.getLogger("vostack")

#: The product table's own columns besides the ObsCore ones (name, PostgreSQL type).
EXTRA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("product", "text NOT NULL"),  # the file's path in the store
    ("hdu", "integer NOT NULL"),  # the image HDU
    ("frame", "text NOT NULL"),  # ICRS or helioprojective
    ("access_size", "bigint"),  # bytes
    ("hgln_obs", "double precision"),
    ("hglt_obs", "double precision"),
    ("dsun_obs", "double precision"),
    ("owner_group", "text"),
    ("release_date", "timestamptz"),
)


@dataclass(frozen=True, slots=True)
class ImageFile:
    """A file to publish: its path in the store and, for an embargo, its owner group and release date."""

    path: str
    owner_group: str | None = None
    release_date: datetime | None = None


@dataclass
class LoadReport:
    """What :meth:`ImageCollection.load` did: the records loaded and each file's problems."""

    loaded: dict[str, ImageRecord] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    """By path: what the header lacks (the file is published) or why the file is not an image (it is not)."""
    refused: list[str] = field(default_factory=list)


class ImageCollection:
    """Images of one ObsCore collection kept in ``table``, their files in ``store``.

    Parameters
    ----------
    table
        The qualified product table (``"images.sky"``), written by :meth:`load`.
    collection
        ``obs_collection`` of the images.
    store
        Where the files are (:mod:`vostack.products` stores).
    authority
        The IVOA authority of the publisher DIDs: ``ivo://<authority>/<slug of collection>?<path>``.
    public_url
        The absolute URL the SIA service is mounted at (its ``/file``, ``/datalink`` serve these images).
    embargoed
        Whether the table's ``owner_group`` and ``release_date`` hide rows from others.
    metadata_public
        With an embargo, everyone sees the rows (the images' metadata); their files, previews and cutouts are
        refused before the release date to those outside the group (:func:`vostack.db.release_condition`).
    settings
        The role prefix of the site's database roles.
    describe
        How a file becomes an ObsCore record: :func:`vostack.sia.describe_image` for images,
        :func:`vostack.sia.describe_series` for light curves.
    files
        The files to publish: :meth:`start` loads them unless the table holds them already (a portal that
        loads the table itself with :meth:`load` leaves this empty).
    """

    def __init__(
        self,
        *,
        table: str,
        collection: str,
        store: FileStore,
        authority: str,
        public_url: str | None = None,
        embargoed: bool = False,
        metadata_public: bool = False,
        calib_level: int = 2,
        settings: ServiceConfig | None = None,
        files: Sequence[ImageFile] = (),
        describe: Describe = describe_image,
    ) -> None:
        if "." not in table:
            raise ValueError(f"the image table {table!r} must be qualified with its schema")
        self.table = table
        self.collection = collection
        self.store = store
        self.authority = authority.removeprefix("ivo://").rstrip("/")
        self.public_url = public_url.rstrip("/") if public_url else None
        if metadata_public and not embargoed:
            raise ValueError("metadata_public is for an embargo (owner_group and release_date)")
        self._embargoed = embargoed
        self.metadata_public = metadata_public
        self.calib_level = calib_level
        self.settings = settings or ServiceConfig()
        self.owners: frozenset[str] = frozenset()
        self.files = tuple(files)
        self.describe = describe
        self.report: LoadReport | None = None
        """What the last :meth:`load` by :meth:`start` did (``None`` when the table was there already)."""

    def __repr__(self) -> str:
        return f"ImageCollection({self.table!r}, {self.collection!r})"

    @property
    def embargoed(self) -> bool:
        """Whether some images are seen only by their owner group until their release date."""
        return self._embargoed

    @property
    def qualified(self) -> str:
        """The table as quoted identifiers."""
        return ".".join(db.quote_ident(part) for part in self.table.split(".", 1))

    def publisher_did(self, path: str) -> str:
        """The IVOA identifier of the image at ``path`` (ObsCore 1.1 §4.6 obs_publisher_did)."""
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.collection).strip("-").lower()
        return f"ivo://{self.authority}/{slug}?{path}"

    # ------------------------------------------------------------------ loading

    def _describe(self, path: str) -> tuple[ImageRecord, int]:
        data = self.store.read(path)
        return self.describe(data, calib_level=self.calib_level), len(data)

    def _comment(self, files: Sequence[ImageFile]) -> str:
        """The table's comment: a digest of what was loaded, so that a server finding it leaves it alone."""
        listed = "\n".join(f"{f.path}\t{f.owner_group}\t{f.release_date}" for f in files)
        digest = hashlib.sha256(f"{self.collection}\n{self.calib_level}\n{listed}".encode()).hexdigest()[:32]
        return f"vostack image collection ({digest})"

    async def load(self, pool: db.Pool, files: Sequence[ImageFile]) -> LoadReport:
        """Describe ``files`` and write the table anew (with its indexes); a file that is no image is left out
        and reported, and so is what a published file's header lacks (ObsCore 1.1 §3)."""
        async with db.exclusive(pool, f"vostack.images:{self.table}"):
            return await self._load(pool, files)

    async def _load(self, pool: db.Pool, files: Sequence[ImageFile]) -> LoadReport:
        report = LoadReport()
        rows: list[tuple[object, ...]] = []
        for image in files:
            try:
                record, size = await asyncio.to_thread(self._describe, image.path)
            except (ImageError, NotFoundError) as exc:  # no image, or no such file: reported, not fatal
                report.problems[image.path] = [exc.message]
                report.refused.append(image.path)
                continue
            report.loaded[image.path] = record
            if record.problems:
                report.problems[image.path] = list(record.problems)
            rows.append(self._row(image, record, size))
        columns = [c.name for c in OBSCORE_COLUMNS if c.name not in ("access_url", "access_format", "access_estsize")]
        names = [*columns, "footprint_text", *(name for name, _ in EXTRA_COLUMNS)]
        await db.execute(pool, self._ddl())
        await db.copy_rows(pool, self.table, names, rows)
        # pgSphere types have no binary COPY input: the footprint comes as text, then becomes a polygon
        name = self.table.split(".", 1)[1]
        await db.execute(
            pool,
            f"ALTER TABLE {self.qualified} ADD COLUMN {FOOTPRINT.name} spoly;\n"
            f"UPDATE {self.qualified} SET {FOOTPRINT.name} = footprint_text::spoly "
            "WHERE footprint_text IS NOT NULL;\n"
            f"CREATE INDEX {db.quote_ident(name + '_footprint_idx')} ON {self.qualified} "
            f"USING gist ({FOOTPRINT.name});\n"
            f"COMMENT ON TABLE {self.qualified} IS {db.quote_literal(self._comment(files))};\n"
            f"ANALYZE {self.qualified};",
        )
        return report

    def _row(self, image: ImageFile, r: ImageRecord, size: int) -> tuple[object, ...]:
        values: dict[str, object] = {
            "dataproduct_type": r.dataproduct_type,
            "calib_level": r.calib_level,
            "obs_collection": self.collection,
            "obs_id": image.path.rsplit("/", 1)[-1].split(".")[0],
            "obs_publisher_did": self.publisher_did(image.path),
            "target_name": r.target_name,
            "s_ra": r.s_ra,
            "s_dec": r.s_dec,
            "s_fov": r.s_fov,
            "s_region": r.s_region,
            "s_resolution": r.s_resolution,
            "s_xel1": r.shape[0],
            "s_xel2": r.shape[1],
            "t_min": r.t_min,
            "t_max": r.t_max,
            "t_exptime": r.t_exptime,
            "t_resolution": r.t_resolution,
            "t_xel": r.t_xel,
            "em_min": r.em_min,
            "em_max": r.em_max,
            "em_res_power": None,
            "em_xel": r.em_xel,
            "o_ucd": r.o_ucd,
            "pol_states": r.pol_states,
            "pol_xel": r.pol_xel,
            "facility_name": r.facility_name,
            "instrument_name": r.instrument_name,
        }
        extra = (image.path, r.hdu, r.frame, size, r.observer.get("HGLN_OBS"), r.observer.get("HGLT_OBS"),
                 r.observer.get("DSUN_OBS"), image.owner_group, image.release_date)  # fmt: skip
        skipped = ("access_url", "access_format", "access_estsize")
        return (*(values[c.name] for c in OBSCORE_COLUMNS if c.name not in skipped), r.spoly, *extra)

    def _ddl(self) -> str:
        skipped = ("access_url", "access_format", "access_estsize")
        columns = [f"{db.quote_ident(c.name)} {c.db_type}" for c in OBSCORE_COLUMNS if c.name not in skipped]
        columns += ["footprint_text text"]
        columns += [f"{db.quote_ident(name)} {kind}" for name, kind in EXTRA_COLUMNS]
        schema, name = self.table.split(".", 1)
        points = db.quote_ident(f"{name}_spoint_idx")
        return (
            f"CREATE SCHEMA IF NOT EXISTS {db.quote_ident(schema)};\n"
            f"DROP TABLE IF EXISTS {self.qualified} CASCADE;\n"
            f"CREATE TABLE {self.qualified} (\n  " + ",\n  ".join(columns) + ",\n  PRIMARY KEY (obs_publisher_did));\n"
            f"CREATE INDEX {points} ON {self.qualified} USING gist (spoint(radians(s_ra), radians(s_dec)));\n"
        )

    # ------------------------------------------------------------------ serving

    def link_sql(self, endpoint: str) -> str:
        """SQL over the table: the URL of an image at the SIA service's ``endpoint`` (``file``, ``preview``,
        ``datalink``, ``soda``), ``<public_url>/<endpoint>?ID=<obs_publisher_did>``."""
        if self.public_url is None:
            raise ValueError(f"{self!r}: the images' URLs need the SIA service's public_url")
        return f"{db.quote_literal(f'{self.public_url}/{endpoint}?ID=')} || {db.url_escaped('obs_publisher_did')}"

    def obscore_select(self) -> str:
        """The images' branch of ``ivoa.obscore`` (:class:`vostack.obscore.ObsCoreSource`): ``access_url`` is the
        file itself, served by the SIA service (its DataLink links are found through the service descriptor)."""
        if self.public_url is None:
            raise ValueError(f"{self!r}: the ObsCore rows need the SIA service's public_url (their access URLs)")
        values = {c.name: db.quote_ident(c.name) for c in (*OBSCORE_COLUMNS, FOOTPRINT)}
        values["access_url"] = self.link_sql("file")
        values["access_format"] = f"{db.quote_literal(FITS)}::text"
        values["access_estsize"] = "((access_size + 1023) / 1024)::bigint"
        select = ",\n  ".join(f"{values[c.name]} AS {db.quote_ident(c.name)}" for c in (*OBSCORE_COLUMNS, FOOTPRINT))
        return f"SELECT\n  {select}\nFROM {self.qualified}"

    async def loaded(self, pool: db.Pool) -> bool:
        """Whether the table holds :attr:`files` as :meth:`load` wrote them (its comment names them)."""
        sql = "SELECT obj_description(to_regclass($1), 'pg_class')"
        async with db.open_cursor(pool, sql, statement_timeout=30, args=(self.table,)) as cursor:
            rows = await cursor.fetch(1)
        return bool(rows) and rows[0][0] == self._comment(self.files)

    async def start(self, pool: db.Pool) -> None:
        """Load :attr:`files` unless the table holds them, then apply the release policy of an embargo
        (:func:`vostack.db.apply_release`)."""
        if self.files:
            async with db.exclusive(pool, f"vostack.images:{self.table}"):  # servers starting together load once
                if not await self.loaded(pool):
                    self.report = await self._load(pool, self.files)
                    for path, problems in self.report.problems.items():
                        log.warning("%s: %s: %s", self.table, path, "; ".join(problems))
        if self.embargoed:
            self.owners = await db.apply_release(
                pool,
                prefix=self.settings.role_prefix,
                table=self.table,
                owner_group="owner_group",
                release_date="release_date",
                metadata_public=self.metadata_public,
            )

    async def stop(self) -> None:
        """Nothing to give back."""
