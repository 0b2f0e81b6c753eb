"""The UWS 1.1 XML documents: job, job list, results, parameters (UWS 1.1 §3, schema UWS.xsd)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from lxml import etree

from vostack.dali import format_timestamp
from vostack.uws.model import Job

__all__ = ["UWS_NAMESPACE", "UWS_VERSION", "job_document", "jobs_document", "parameters_document", "results_document"]

UWS_NAMESPACE = "http://www.ivoa.net/xml/UWS/v1.0"
"""The namespace of UWS 1.0 and 1.1 documents."""

UWS_VERSION = "1.1"
"""The ``version`` attribute written on ``job`` and ``jobs``."""

_XLINK = "http://www.w3.org/1999/xlink"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NSMAP = {"uws": UWS_NAMESPACE, "xlink": _XLINK, "xsi": _XSI}


def _el(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{UWS_NAMESPACE}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _nillable(parent: etree._Element, name: str, text: str | None) -> None:
    element = _el(parent, name, text)
    if text is None:
        element.set(f"{{{_XSI}}}nil", "true")


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def _serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _root(name: str) -> etree._Element:
    return etree.Element(f"{{{UWS_NAMESPACE}}}{name}", nsmap=_NSMAP)


def _add_parameters(parent: etree._Element, parameters: Sequence[tuple[str, str]]) -> None:
    element = _el(parent, "parameters")
    for name, value in parameters:
        _el(element, "parameter", value, id=name.lower())


ResultURL = Callable[[Job, str], str]
"""How a result's URL is written: from the job and the plain URL (e.g. signed, for private jobs)."""


def _add_results(parent: etree._Element, job: Job, job_url: str, result_url: ResultURL | None) -> None:
    for result in job.results:
        href = f"{job_url}/results/{result.result_id}"
        attrs = {"id": result.result_id, f"{{{_XLINK}}}href": result_url(job, href) if result_url else href}
        if result.size is not None:
            attrs["size"] = str(result.size)
        if result.mime_type:
            attrs["mime-type"] = result.mime_type
        _el(parent, "result", **attrs)


def job_document(job: Job, *, job_url: str, result_url: ResultURL | None = None) -> bytes:
    """The ``uws:job`` document (UWS 1.1 §2.2.2.2); ``result_url`` writes the results' URLs."""
    root = _root("job")
    root.set("version", UWS_VERSION)
    _el(root, "jobId", job.job_id)
    if job.run_id is not None:
        _el(root, "runId", job.run_id)
    _nillable(root, "ownerId", job.owner)
    _el(root, "phase", job.phase.value)
    _nillable(root, "quote", _time(job.quote))
    _el(root, "creationTime", _time(job.creation_time))
    _nillable(root, "startTime", _time(job.start_time))
    _nillable(root, "endTime", _time(job.end_time))
    _el(root, "executionDuration", str(job.execution_duration))
    _el(root, "destruction", _time(job.destruction))
    _add_parameters(root, job.parameters)
    _add_results(_el(root, "results"), job, job_url, result_url)
    if job.error is not None:
        summary = _el(
            root, "errorSummary", type=job.error.type.value, hasDetail="true" if job.error.has_detail else "false"
        )
        _el(summary, "message", job.error.message)
    return _serialize(root)


def jobs_document(jobs: Sequence[Job], *, jobs_url: str) -> bytes:
    """The ``uws:jobs`` job list (UWS 1.1 §2.2.2.1): phase, runId, ownerId and creationTime of each."""
    root = _root("jobs")
    root.set("version", UWS_VERSION)
    for job in jobs:
        ref = _el(root, "jobref", id=job.job_id, **{f"{{{_XLINK}}}href": f"{jobs_url}/{job.job_id}"})
        _el(ref, "phase", job.phase.value)
        if job.run_id is not None:
            _el(ref, "runId", job.run_id)
        _nillable(ref, "ownerId", job.owner)
        _el(ref, "creationTime", _time(job.creation_time))
    return _serialize(root)


def results_document(job: Job, *, job_url: str, result_url: ResultURL | None = None) -> bytes:
    """The ``uws:results`` document of ``{job}/results`` (UWS 1.1 §2.2.2.2)."""
    root = _root("results")
    _add_results(root, job, job_url, result_url)
    return _serialize(root)


def parameters_document(job: Job) -> bytes:
    """The ``uws:parameters`` document of ``{job}/parameters`` (UWS 1.1 §2.2.2.2)."""
    root = _root("parameters")
    for name, value in job.parameters:
        _el(root, "parameter", value, id=name.lower())
    return _serialize(root)
