"""The demo's private project: a consortium's target list beside the public catalogue, and two identities.

``consortium.targets`` holds the Hipparcos stars within 10 parsecs (parallax of 100 mas or more) with the
consortium's observing priority; the schema is visible to the group ``consortium`` only, the ``priority``
column to its principal investigators (``consortium-pi``).  The demo signs bearer JWTs (HS256) with a key
kept in its state directory and prints two of them at start-up: ``alice`` (``consortium``,
``consortium-pi``) and ``bob`` (``astronomers``, outside the project).

Embargoed products: the :data:`EMBARGOED` latest SpeX spectra (SSA, DataLink, ``ivoa.obscore``) and the maps of
Saturn's moons :data:`EMBARGOED_MAPS` in the EPN-TAP collection ``surface_maps`` (their rows and files), both
the consortium's for a year.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from pathlib import Path

import jwt

from vostack import db
from vostack.auth import Auth, JWTVerifier
from vostack.config import ColumnMeta, PublishConfig, TableMeta
from vostack.epntap import EPNCollection
from vostack.ssa import SSAMapping

__all__ = [
    "EMBARGOED",
    "EMBARGOED_MAPS",
    "GROUP",
    "IDENTITIES",
    "MAPS_COLLECTION",
    "PI_GROUP",
    "TABLE",
    "demo_auth",
    "demo_tokens",
    "embargoed_collections",
    "embargoed_mapping",
    "ensure_project",
    "with_project",
]

GROUP = "consortium"
PI_GROUP = "consortium-pi"
TABLE = "consortium.targets"
IDENTITIES: dict[str, tuple[str, ...]] = {"alice": (GROUP, PI_GROUP), "bob": ("astronomers",)}
"""The demo's identities and their groups."""

DDL = """\
CREATE SCHEMA IF NOT EXISTS consortium;
DROP TABLE IF EXISTS consortium.targets;
CREATE TABLE consortium.targets AS
  SELECT hip, ra, dec, plx, hpmag, b_v,
         (1 + (hip % 3))::smallint AS priority,
         CASE WHEN plx >= 200 THEN 'within 5 pc: first season' ELSE 'second season' END AS note
  FROM hipparcos.main WHERE plx >= 100;
ALTER TABLE consortium.targets ADD PRIMARY KEY (hip);
CREATE INDEX targets_spoint_idx ON consortium.targets USING gist (spoint(radians(ra), radians(dec)));
COMMENT ON TABLE consortium.targets IS 'The consortium''s targets: Hipparcos stars within 10 pc';
ANALYZE consortium.targets;
"""


EMBARGOED = 25
"""How many SpeX spectra (the most recently observed) the demo puts under the consortium's embargo."""

EMBARGO_DDL = f"""\
ALTER TABLE spex.spectra ADD COLUMN IF NOT EXISTS owner_group text,
                         ADD COLUMN IF NOT EXISTS release_date timestamptz;
UPDATE spex.spectra SET owner_group = NULL, release_date = NULL;
UPDATE spex.spectra SET owner_group = '{GROUP}', release_date = now() + interval '1 year'
  WHERE pubdid IN (SELECT pubdid FROM spex.spectra ORDER BY mjd DESC, pubdid LIMIT {EMBARGOED});
"""


EMBARGOED_MAPS = ("dione", "rhea", "tethys")
"""The maps (``planetary.maps``, collection ``surface_maps``) the demo puts under the consortium's embargo."""

MAPS_COLLECTION = "surface_maps"

MAPS_EMBARGO_DDL = f"""\
ALTER TABLE planetary.maps ADD COLUMN IF NOT EXISTS owner_group text,
                           ADD COLUMN IF NOT EXISTS release_date timestamptz;
UPDATE planetary.maps SET owner_group = NULL, release_date = '2025-09-01';
UPDATE planetary.maps SET owner_group = '{GROUP}', release_date = now() + interval '1 year'
  WHERE map_id IN ({", ".join(db.quote_literal(m) for m in EMBARGOED_MAPS)});
"""


async def ensure_project(pool: db.Pool, *, spectra: bool = False, maps: bool = False) -> None:
    """Make ``consortium.targets`` from ``hipparcos.main`` (which must be loaded); with ``spectra``, put the
    :data:`EMBARGOED` latest SpeX spectra under the consortium's embargo for a year (``spex.spectra`` must be
    loaded), with ``maps`` the :data:`EMBARGOED_MAPS` (``planetary.maps`` must be loaded)."""
    await db.execute(pool, DDL + (EMBARGO_DDL if spectra else "") + (MAPS_EMBARGO_DDL if maps else ""))


def embargoed_collections(collections: list[EPNCollection]) -> list[EPNCollection]:
    """The demo's EPN-TAP collections with the embargo columns :func:`ensure_project` gives the maps (the
    EPNCore ``release_date`` is then the embargo's column, no longer the constant of the TOML file)."""
    return [
        dataclasses.replace(
            c,
            constants={k: v for k, v in c.constants.items() if k != "release_date"},
            owner_group="owner_group",
            release_date="release_date",
        )
        if c.schema == MAPS_COLLECTION
        else c
        for c in collections
    ]


def embargoed_mapping(mapping: SSAMapping) -> SSAMapping:
    """The SpeX SSA mapping with the embargo columns :func:`ensure_project` adds."""
    return dataclasses.replace(mapping, owner_group="owner_group", release_date="release_date")


def with_project(config: PublishConfig) -> PublishConfig:
    """``config`` publishing the private project: the schema for ``consortium``, ``priority`` for its PIs."""
    meta = TableMeta(
        description="The consortium's targets: Hipparcos stars within 10 parsecs, with observing priorities.",
        columns={
            "hip": ColumnMeta(description="Hipparcos identifier", ucd="meta.id;meta.main", principal=True),
            "ra": ColumnMeta(description="Right ascension (ICRS, epoch 1991.25)", unit="deg",
                             ucd="pos.eq.ra;meta.main", principal=True),
            "dec": ColumnMeta(description="Declination (ICRS, epoch 1991.25)", unit="deg",
                              ucd="pos.eq.dec;meta.main", principal=True),
            "plx": ColumnMeta(description="Parallax", unit="mas", ucd="pos.parallax.trig", principal=True),
            "hpmag": ColumnMeta(description="Hipparcos magnitude", unit="mag", ucd="phot.mag;em.opt"),
            "b_v": ColumnMeta(description="B-V colour", unit="mag", ucd="phot.color;em.opt.B;em.opt.V"),
            "priority": ColumnMeta(description="Observing priority (1 first); the PIs' only", groups=(PI_GROUP,)),
            "note": ColumnMeta(description="The consortium's note"),
        },
    )  # fmt: skip
    return dataclasses.replace(
        config,
        schemas={**config.schemas, "consortium": "A private project: the consortium's targets."},
        schema_groups={**config.schema_groups, "consortium": (GROUP,)},
        tables={**config.tables, TABLE: meta},
    )


def _key(state: Path) -> str:
    """The demo's signing key, made once and kept in ``state`` (tokens printed earlier stay valid)."""
    path = state / "jwt.key"
    if not path.exists():
        state.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def demo_tokens(state: Path, *, days: float = 30) -> dict[str, str]:
    """A bearer JWT for each of :data:`IDENTITIES`, valid for ``days``."""
    key = _key(state)
    expires = int(time.time() + days * 86_400)
    return {
        name: jwt.encode({"sub": name, "groups": list(groups), "exp": expires}, key, algorithm="HS256")
        for name, groups in IDENTITIES.items()
    }


def demo_auth(state: Path) -> Auth:
    """The demo's authentication: its JWTs as bearer tokens, Basic passwords and, after ``/login``, cookies."""
    key = _key(state)
    return Auth.tokens(
        JWTVerifier(key=key, algorithms=("HS256",)), session_secret=key, login_url="/login", realm="vostack demo"
    )
