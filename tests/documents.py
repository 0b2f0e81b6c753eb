"""The error documents services answer, read as clients read them (DALI 1.1 §4.4.2)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Protocol

from astropy.io.votable import parse


class HTTPResponse(Protocol):
    """What httpx and requests responses both have."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...


def dali_error(response: HTTPResponse) -> str:
    """The message of a DALI error VOTable: its one ``INFO name="QUERY_STATUS" value="ERROR"``, as astropy
    reads it with ``verify="exception"``."""
    assert response.headers["content-type"].startswith("application/x-votable+xml"), response.content[:500]
    document = parse(io.BytesIO(response.content), verify="exception")
    (status,) = [i for i in document.resources[0].infos if i.name == "QUERY_STATUS"]
    assert status.value == "ERROR"
    return str(status.content)
