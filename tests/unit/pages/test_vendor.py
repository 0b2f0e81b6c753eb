"""The bundled Aladin Lite: pinned by version and checksum."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from vostack.pages.assets import Assets
from vostack.pages.vendor import ALADIN_INTEGRITY, ALADIN_VERSION, aladin_present, integrity_of, vendor_aladin


def test_integrity_is_npm_s_sha512() -> None:
    assert integrity_of(b"abc") == "sha512-" + base64.b64encode(hashlib.sha512(b"abc").digest()).decode()
    assert ALADIN_INTEGRITY.startswith("sha512-") and ALADIN_VERSION.count(".") == 2


def test_a_missing_or_other_version_is_not_present(tmp_path: Path) -> None:
    assert not aladin_present(tmp_path)
    (tmp_path / "aladin.js").write_text("x")
    (tmp_path / "VERSION").write_text("0.0.1\n")
    assert not aladin_present(tmp_path)


def test_without_npm_the_reason_is_given(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="npm is needed"):
        vendor_aladin(tmp_path / "aladin", npm="no-such-npm-program")


def test_asset_urls_change_with_the_files(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("one")
    first = Assets(directory=tmp_path)
    (tmp_path / "a.js").write_text("two")
    second = Assets(directory=tmp_path)
    assert first.version != second.version
    assert second.url("/static", "a.js") == f"/static/{second.version}/a.js"
