"""The default result store (UWS 1.1 §2.1.10): what a failed run removes, and what deleting the job removes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from vostack.errors import NotFoundError
from vostack.uws import DirectoryResultStore


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _read(store: DirectoryResultStore, location: str) -> bytes:
    return b"".join([chunk async for chunk in store.iter_bytes(location)])


async def test_removing_listed_results_keeps_the_jobs_other_files(tmp_path: Path) -> None:
    # a re-run job (lease recovery) or a failed run loses its results, not the upload it keeps as a parameter
    store = DirectoryResultStore(tmp_path)
    kept, _ = await store.write("job1", "file.upload", _chunks(b"<VOTABLE/>"))
    result, size = await store.write("job1", "result", _chunks(b"a", b"bc"))
    assert size == 3
    await store.delete("job1", [result])
    assert await _read(store, kept) == b"<VOTABLE/>"
    with pytest.raises(NotFoundError):
        await _read(store, result)


async def test_deleting_the_job_removes_everything_it_stored(tmp_path: Path) -> None:
    store = DirectoryResultStore(tmp_path)
    await store.write("job1", "file.upload", _chunks(b"x"))
    result, _ = await store.write("job1", "result", _chunks(b"y"))
    other, _ = await store.write("job2", "result", _chunks(b"z"))
    await store.delete("job1", [result], everything=True)
    assert not (tmp_path / "job1").exists()
    assert await _read(store, other) == b"z"
    await store.delete("job1", [result], everything=True)  # idempotent


async def test_a_location_of_another_job_is_not_removed(tmp_path: Path) -> None:
    store = DirectoryResultStore(tmp_path)
    other, _ = await store.write("job2", "result", _chunks(b"z"))
    await store.delete("job1", [other])
    assert await _read(store, other) == b"z"
