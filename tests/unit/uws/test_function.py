"""Python functions as UWS executors: typed parameters, sync and async functions, results."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, cast

import pytest

from vostack import db
from vostack.errors import ParameterError
from vostack.uws import DirectoryResultStore, ExecutionPhase, FunctionExecutor, Job, JobContext, Parameter

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def context(tmp_path: Path, **parameters: str) -> JobContext:
    job = Job("j1", ExecutionPhase.EXECUTING, None, None, T0, T0, None, 10, T0, None, tuple(parameters.items()))
    return JobContext(job=job, pool=cast(db.Pool, None), _results=DirectoryResultStore(tmp_path))


PARAMS = [Parameter("X", float), Parameter("N", int, default=3)]


async def read(tmp_path: Path, ctx: JobContext) -> bytes:
    (result,) = ctx.written
    return b"".join([c async for c in DirectoryResultStore(tmp_path).iter_bytes(result.location)])


async def test_sync_function_gets_converted_parameters_and_its_bytes_become_the_result(tmp_path: Path) -> None:
    def f(*, x: float, n: int) -> bytes:
        return f"{x * n}".encode()

    ctx = context(tmp_path, x="1.5", n="4")
    await FunctionExecutor(f, parameters=PARAMS, media_type="text/plain")(ctx)
    assert await read(tmp_path, ctx) == b"6.0"
    assert ctx.written[0].mime_type == "text/plain"
    assert ctx.written[0].size == 3


async def test_async_generator_function_streams_its_chunks(tmp_path: Path) -> None:
    async def f(*, x: float, n: int) -> Any:
        for i in range(n):
            yield f"{i},".encode()

    ctx = context(tmp_path, X="0")
    await FunctionExecutor(f, parameters=PARAMS)(ctx)
    assert await read(tmp_path, ctx) == b"0,1,2,"


async def test_missing_required_parameter_is_a_parameter_error(tmp_path: Path) -> None:
    async def f(*, x: float, n: int) -> str:
        return "never"

    with pytest.raises(ParameterError, match="X is required"):
        await FunctionExecutor(f, parameters=PARAMS)(context(tmp_path))


async def test_unconvertible_parameter_is_a_parameter_error(tmp_path: Path) -> None:
    async def f(*, x: float, n: int) -> str:
        return "never"

    with pytest.raises(ParameterError, match="N='many' is not a valid int"):
        await FunctionExecutor(f, parameters=PARAMS)(context(tmp_path, x="1", n="many"))


def test_duplicate_parameter_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        FunctionExecutor(print, parameters=[Parameter("a"), Parameter("A")])


async def test_directory_store_deletes_a_jobs_results(tmp_path: Path) -> None:
    store = DirectoryResultStore(tmp_path)

    async def chunks() -> Any:
        yield b"abc"

    location, size = await store.write("job9", "result", chunks())
    assert (location, size) == ("job9/result", 3)
    assert await store.url(location) is None
    await store.delete("job9", [location], everything=True)
    assert not (tmp_path / "job9").exists()
