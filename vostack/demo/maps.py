"""Maps of the bodies of the demo's gazetteer, for the planetary view of its search page.

Stellarium's planet and moon textures (Debian ``stellarium-data``, the package the gazetteer comes from) are
equirectangular maps in the usual planetary layout: longitude -180° at the left edge, 0° in the middle, east
to the right, north up (checked against Olympus Mons, Hellas and Mare Crisium).  The first time,
``apt-get download stellarium-data`` fetches the package again and the textures that
``ssystem_major.ini`` and ``ssystem_minor.ini`` name for a body (``tex_map``) are read out of it in place;
bodies with Stellarium's generic texture (``lune.png``) get none.  The package is deleted afterwards.
"""

from __future__ import annotations

import configparser
import json
import lzma
import tarfile
from pathlib import Path

from vostack.demo.planetary import STELLARIUM_PACKAGE, _ar_member, _run

__all__ = ["fetch_body_maps"]

_TEXTURES = "./usr/share/stellarium/textures/"
_GENERIC = {"lune.png", "nomap.png"}


def _texture_names(stellarium: Path) -> dict[str, str]:
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


def fetch_body_maps(cache_dir: Path, stellarium: Path) -> dict[str, Path]:
    """The map of each body that has one, kept in ``cache_dir/maps`` (``stellarium``: the directory
    :func:`vostack.demo.planetary.fetch_stellarium` made, with the solar-system files)."""
    target = cache_dir / "maps"
    index = target / "maps.json"
    if index.is_file():
        return {body: target / name for body, name in json.loads(index.read_text()).items()}
    wanted = _texture_names(stellarium)
    cache_dir.mkdir(parents=True, exist_ok=True)
    _run(["apt-get", "download", STELLARIUM_PACKAGE], cache_dir, STELLARIUM_PACKAGE)
    (package,) = sorted(cache_dir.glob(f"{STELLARIUM_PACKAGE}_*.deb"))[-1:]
    staging = cache_dir / "maps.partial"
    staging.mkdir(exist_ok=True)
    files = {_TEXTURES + texture for texture in wanted.values()}
    found: set[str] = set()
    with package.open("rb") as archive:
        offset, _ = _ar_member(archive, "data.tar.xz")
        archive.seek(offset)
        with lzma.open(archive) as data, tarfile.open(fileobj=data, mode="r|") as tar:
            for member in tar:
                if member.name in files and member.isfile():
                    source = tar.extractfile(member)
                    assert source is not None
                    (staging / Path(member.name).name).write_bytes(source.read())
                    found.add(Path(member.name).name)
                    if len(found) == len(files):
                        break
    maps = {body: texture for body, texture in sorted(wanted.items()) if texture in found}
    (staging / "maps.json").write_text(json.dumps(maps, indent=1) + "\n")
    staging.replace(target)
    package.unlink()
    return {body: target / name for body, name in maps.items()}
