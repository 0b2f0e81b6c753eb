"""Product files without a database: the stores, path templates, byte ranges, thumbnails and the endpoint."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.unit.registry.helpers import Client
from vostack.errors import NotFoundError, UsageError
from vostack.products import (
    DirectoryStore,
    PathTemplate,
    Products,
    ProductService,
    ZipStore,
    byte_range,
    checked_path,
    span,
)
from vostack.products.previews import thumbnail_png


@pytest.mark.parametrize("path", ["", "/etc/passwd", "a/../b", "..", "a//b", "./a", "a\\b", "a\x00b", "a/"])
def test_paths_leaving_the_store_are_refused(path: str) -> None:
    with pytest.raises(UsageError):
        checked_path(path)


def test_plain_relative_paths_pass() -> None:
    assert checked_path("maps/mars.tif") == "maps/mars.tif"
    assert checked_path("a b+c%.fits") == "a b+c%.fits"


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "file.bin").write_bytes(bytes(range(256)))
    (tmp_path / "secret").write_bytes(b"secret")
    (root / "link").symlink_to(tmp_path / "secret")
    return root


def test_a_directory_store_reads_files_sizes_and_ranges(tmp_path: Path) -> None:
    store = DirectoryStore(_tree(tmp_path))
    assert store.read("sub/file.bin") == bytes(range(256))
    assert store.size("sub/file.bin") == 256
    assert store.read_range("sub/file.bin", 10, 14) == bytes([10, 11, 12, 13])
    with pytest.raises(NotFoundError):
        store.read("sub/missing.bin")
    with pytest.raises(NotFoundError):
        store.read("sub")  # a directory is no file
    with pytest.raises(NotFoundError):
        store.read("link")  # a symbolic link out of the store


def test_a_zip_store_reads_members_below_its_prefix_in_place(tmp_path: Path) -> None:
    archive = tmp_path / "data.whl"
    payload = bytes(range(256)) * 40
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("pkg/data/images/a.tif", payload)
        z.writestr("pkg/other.txt", b"not served")
    store = ZipStore(archive, prefix="pkg/data/images/")
    assert store.read("a.tif") == payload and store.size("a.tif") == len(payload)
    assert store.read_range("a.tif", 5000, 5004) == payload[5000:5004]
    with pytest.raises(NotFoundError):
        store.read("other.txt")  # outside the prefix
    with pytest.raises(UsageError):
        store.read("../other.txt")
    with pytest.raises(ValueError, match="ending with '/'"):
        ZipStore(archive, prefix="pkg")
    store.close()


def test_a_path_template_names_columns_and_renders_a_row() -> None:
    template = PathTemplate("{program}/{file_name}.fits.gz")
    assert template.columns == ("program", "file_name")
    assert template.render({"program": "p1", "file_name": 42}) == "p1/42.fits.gz"
    with pytest.raises(NotFoundError, match="file_name is NULL"):
        template.render({"program": "p1", "file_name": None})
    with pytest.raises(UsageError):
        template.render({"program": "..", "file_name": "x"})
    for bad in ("plain.fits", "{0}.fits", "{name!r}", "{name:>5}", "{a.b}", "{"):
        with pytest.raises(ValueError):
            PathTemplate(bad)


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-9", 100, (0, 9)),
        ("bytes=90-", 100, (90, 99)),
        ("bytes=-5", 100, (95, 99)),
        ("bytes=50-500", 100, (50, 99)),
        ("bytes=100-", 100, None),
    ],
)
def test_byte_ranges_are_placed_in_the_file(header: str, size: int, expected: tuple[int, int] | None) -> None:
    wanted = byte_range(header)
    assert wanted is not None and span(wanted, size) == expected


def test_other_range_headers_get_the_whole_file() -> None:
    for header in (None, "", "bytes=0-1,5-6", "items=0-5", "bytes=-"):
        assert byte_range(header) is None


def _tiff(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="TIFF")
    return out.getvalue()


def test_a_thumbnail_is_a_png_of_200_pixels_stretching_deep_samples() -> None:
    ramp = np.tile(np.arange(-1000, 1000, 2, dtype=np.int32), (500, 1))  # 1000 x 500, 32-bit
    png = thumbnail_png(_tiff(ramp))
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (200, 100) and image.mode == "L"
        pixels = np.asarray(image)
    assert pixels[:, 0].max() < 10 and pixels[:, -1].min() > 245  # the ramp spans the grey scale
    small = thumbnail_png(_tiff(np.zeros((20, 30), dtype=np.uint8)))
    with Image.open(io.BytesIO(small)) as image:
        assert image.size == (30, 20)  # never enlarged
    with pytest.raises(NotFoundError, match="no image"):
        thumbnail_png(b"SIMPLE  =                    T")


def test_the_endpoint_serves_files_ranges_and_cached_thumbnails(tmp_path: Path) -> None:
    root = tmp_path / "maps"
    root.mkdir()
    image = np.tile(np.arange(256, dtype=np.uint8), (64, 2))
    (root / "a.tif").write_bytes(_tiff(image))
    service = ProductService(
        products={
            "maps": Products(DirectoryStore(root), media_type="image/tiff", previews=True),
            "raw": Products(DirectoryStore(root)),
        }
    )
    client = Client(service)
    whole = client.get("/maps/a.tif")
    assert whole.status_code == 200 and whole.headers["content-type"] == "image/tiff"
    assert whole.content == (root / "a.tif").read_bytes() and whole.headers["accept-ranges"] == "bytes"
    part = client.get("/maps/a.tif", headers={"Range": "bytes=2-5"})
    assert part.status_code == 206 and part.content == whole.content[2:6]
    assert part.headers["content-range"] == f"bytes 2-5/{len(whole.content)}"
    beyond = client.get("/maps/a.tif", headers={"Range": f"bytes={len(whole.content)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(whole.content)}"
    preview = client.get("/maps/a.tif?preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
    (root / "a.tif").write_bytes(b"changed")  # the thumbnail was made once and is kept
    assert client.get("/maps/a.tif?preview").content == preview.content
    assert client.get("/raw/a.tif?preview").status_code == 404  # these products offer no thumbnails
    missing = client.get("/maps/b.tif")
    assert missing.status_code == 404 and missing.text.startswith("no product file")
    assert client.get("/maps/..%2fsecret").status_code == 400
    assert client.get("/nothing/a.tif").status_code == 404
    with pytest.raises(ValueError, match="plain words"):
        ProductService(products={"a/b": Products(DirectoryStore(root))})
