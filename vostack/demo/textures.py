"""Pictures of the bodies of the demo's gazetteer, for the planetary view of its search pages.

Stellarium's planet and moon textures (Debian ``stellarium-data``, the package the gazetteer comes from) are
equirectangular maps in the usual planetary layout: longitude -180° at the left edge, 0° in the middle, east
to the right, north up (checked against Olympus Mons, Hellas and Mare Crisium).  The textures that
``ssystem_major.ini`` and ``ssystem_minor.ini`` name for a body (``tex_map``) are read out of the package
in place the first time (:func:`vostack.demo.downloads.fetch_deb_files`); bodies with one of Stellarium's
generic textures get none.  Browsers show them as they are (PNG, JPEG), which the GeoTIFFs of
:mod:`vostack.demo.maps` are not.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from vostack.demo.downloads import fetch_deb_files

__all__ = ["fetch_body_textures"]

_PACKAGE = "stellarium-data"
_TEXTURES = "usr/share/stellarium/textures/"
_GENERIC = {"lune.png", "nomap.png", "comet.png", "gray10.png"}
"""Stellarium's stand-ins for bodies without a map of their own."""


def texture_names(stellarium: Path) -> dict[str, str]:
    """Body name (as the gazetteer spells it) → texture file, from the solar-system files."""
    names: dict[str, str] = {}
    for ini in ("ssystem_major.ini", "ssystem_minor.ini"):
        parser = configparser.RawConfigParser(strict=False)
        parser.read(stellarium / ini, encoding="utf-8")
        for section in parser.sections():
            name, texture = parser.get(section, "name", fallback=None), parser.get(section, "tex_map", fallback=None)
            if name and texture and texture not in _GENERIC and texture.endswith((".png", ".jpg")):
                names.setdefault(name, texture)
    return names


def fetch_body_textures(cache_dir: Path, stellarium: Path) -> dict[str, Path]:
    """The texture of each body that has one, kept in ``cache_dir/textures`` (``stellarium``: the directory
    :func:`vostack.demo.planetary.fetch_stellarium` made, with the solar-system files)."""
    wanted = texture_names(stellarium)
    found = fetch_deb_files(cache_dir, _PACKAGE, _TEXTURES, tuple(sorted(set(wanted.values()))), "textures")
    return {body: found / name for body, name in sorted(wanted.items())}
