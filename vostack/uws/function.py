"""Any Python function (sync or async) as a UWS job executor, with typed parameters.

::

    def model(*, mass: float, steps: int = 100) -> bytes: ...

    service = UWSService(
        name="model",
        executor=FunctionExecutor(model, parameters=[Parameter("MASS", float), Parameter("STEPS", int, default=100)],
                                  media_type="application/fits"),
    )

Job parameters are matched case-insensitively (DALI 1.1 §3.1), converted by
each :class:`Parameter`'s ``convert`` and passed as keyword arguments named
``parameter.argument`` (the lower-cased name by default).  The function's
return value is the job's result ``result``: ``bytes``, ``str`` (UTF-8), an
(async) iterable of ``bytes`` chunks, or ``None`` when the function wrote its
results itself through the :class:`JobContext` it asked for with ``context=True``.

Cancellation (ABORT, execution duration): a coroutine function is cancelled
at its next ``await``; a plain function runs in a worker thread, which Python
cannot interrupt: its result is discarded, and it should poll
``context.cancelled`` (``context=True``) to stop early.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vostack.errors import ParameterError
from vostack.uws.runner import JobContext

__all__ = ["REQUIRED", "FunctionExecutor", "Parameter"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""The default of a parameter that must be given."""


@dataclass(frozen=True, slots=True)
class Parameter:
    """A typed job parameter: wire ``name``, ``convert`` from text, ``default`` (or :data:`REQUIRED`)."""

    name: str
    convert: Callable[[str], object] = str
    default: object = REQUIRED
    description: str = ""
    argument: str | None = None

    def value(self, raw: str | None) -> object:
        """The converted value; :class:`ParameterError` when missing or not convertible."""
        if raw is None or not raw.strip():
            if self.default is REQUIRED:
                raise ParameterError(f"the parameter {self.name} is required", param=self.name)
            return self.default
        try:
            return self.convert(raw.strip())
        except (ValueError, TypeError) as exc:
            kind = getattr(self.convert, "__name__", "value")
            raise ParameterError(f"{self.name}={raw!r} is not a valid {kind}: {exc}", param=self.name) from None


class FunctionExecutor:
    """An :data:`~vostack.uws.Executor` calling ``func`` with the job's typed parameters (UWS 1.1 §2.1.9)."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        parameters: Sequence[Parameter],
        media_type: str = "application/octet-stream",
        result_id: str = "result",
        context: bool = False,
    ) -> None:
        names = [p.name.upper() for p in parameters]
        if len(set(names)) != len(names):
            raise ValueError("parameter names must be unique (case-insensitively)")
        self.func = func
        self.parameters = tuple(parameters)
        self.media_type = media_type
        self.result_id = result_id
        self.context = context

    def arguments(self, context: JobContext) -> dict[str, object]:
        """The keyword arguments for the job; raises :class:`ParameterError`."""
        kwargs = {(p.argument or p.name.lower()): p.value(context.job.parameter(p.name)) for p in self.parameters}
        if self.context:
            kwargs["context"] = context
        return kwargs

    async def __call__(self, context: JobContext) -> None:
        kwargs = self.arguments(context)
        if inspect.iscoroutinefunction(self.func):
            value = await self.func(**kwargs)
        elif inspect.isasyncgenfunction(self.func):
            value = self.func(**kwargs)
        else:
            value = await asyncio.to_thread(self.func, **kwargs)
        if value is None:
            return
        await context.write_result(self.result_id, _chunks(value), mime_type=self.media_type)


async def _chunks(value: object) -> AsyncIterator[bytes]:
    if isinstance(value, str):
        yield value.encode()
    elif isinstance(value, bytes | bytearray | memoryview):
        yield bytes(value)
    elif isinstance(value, AsyncIterable):
        async for chunk in value:
            yield bytes(chunk)
    elif isinstance(value, Iterable):
        for chunk in value:
            yield bytes(chunk)
    else:
        raise TypeError(f"a job function must return bytes, str or an iterable of bytes, not {type(value).__name__}")
