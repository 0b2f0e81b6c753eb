"""UWS documents validate against UWS.xsd (UWS 1.1 §3) and carry what clients read."""

from __future__ import annotations

import datetime as dt

from lxml import etree

from tests.schemata import validator
from vostack.uws import ErrorSummary, ErrorType, ExecutionPhase, Job, JobResult, job_document, jobs_document
from vostack.uws.xml import parameters_document, results_document

NS = {"uws": "http://www.ivoa.net/xml/UWS/v1.0", "xlink": "http://www.w3.org/1999/xlink"}
T0 = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)


def find(root: etree._Element, path: str) -> etree._Element:
    element = root.find(path, NS)
    assert element is not None, path
    return element


def job(**changes: object) -> Job:
    values: dict[str, object] = {
        "job_id": "abc123",
        "phase": ExecutionPhase.PENDING,
        "owner": None,
        "run_id": None,
        "creation_time": T0,
        "start_time": None,
        "end_time": None,
        "execution_duration": 600,
        "destruction": T0 + dt.timedelta(days=7),
        "quote": None,
        "parameters": (("LANG", "ADQL"), ("QUERY", "SELECT <x> & y")),
    }
    values.update(changes)
    return Job(**values)  # type: ignore[arg-type]


def test_pending_anonymous_job_is_valid() -> None:
    document = job_document(job(), job_url="http://h/tap/async/abc123")
    validator("UWS.xsd")(document)
    root = etree.fromstring(document)
    assert root.get("version") == "1.1"
    assert root.findtext("uws:phase", namespaces=NS) == "PENDING"
    assert root.findtext("uws:creationTime", namespaces=NS) == "2026-01-02T03:04:05.678Z"
    assert find(root, "uws:ownerId").get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
    params = {p.get("id"): p.text for p in root.iterfind("uws:parameters/uws:parameter", NS)}
    assert params == {"lang": "ADQL", "query": "SELECT <x> & y"}


def test_completed_job_with_results_is_valid() -> None:
    document = job_document(
        job(
            phase=ExecutionPhase.COMPLETED,
            owner="alice",
            run_id="run 7",
            start_time=T0,
            end_time=T0,
            results=(JobResult("result", "abc123/result", "application/x-votable+xml", 1234),),
        ),
        job_url="http://h/tap/async/abc123",
    )
    validator("UWS.xsd")(document)
    root = etree.fromstring(document)
    result = find(root, "uws:results/uws:result")
    assert result.get("id") == "result"
    assert result.get("{http://www.w3.org/1999/xlink}href") == "http://h/tap/async/abc123/results/result"
    assert result.get("size") == "1234"
    assert root.findtext("uws:ownerId", namespaces=NS) == "alice"
    assert root.findtext("uws:runId", namespaces=NS) == "run 7"


def test_error_job_has_error_summary_and_is_valid() -> None:
    document = job_document(
        job(phase=ExecutionPhase.ERROR, error=ErrorSummary("no such column", ErrorType.FATAL)),
        job_url="http://h/j/abc123",
    )
    validator("UWS.xsd")(document)
    summary = find(etree.fromstring(document), "uws:errorSummary")
    assert summary.get("type") == "fatal"
    assert summary.get("hasDetail") == "true"
    assert summary.findtext("uws:message", namespaces=NS) == "no such column"


def test_job_list_is_valid_with_phase_and_creation_time() -> None:
    document = jobs_document(
        [job(), job(job_id="def", phase=ExecutionPhase.EXECUTING, owner="bob", run_id="r")], jobs_url="http://h/async"
    )
    validator("UWS.xsd")(document)
    refs = etree.fromstring(document).findall("uws:jobref", NS)
    assert [r.get("id") for r in refs] == ["abc123", "def"]
    assert refs[1].get("{http://www.w3.org/1999/xlink}href") == "http://h/async/def"
    assert [r.findtext("uws:phase", namespaces=NS) for r in refs] == ["PENDING", "EXECUTING"]


def test_empty_job_list_is_valid() -> None:
    validator("UWS.xsd")(jobs_document([], jobs_url="http://h/async"))


def test_results_and_parameters_documents_are_valid() -> None:
    j = job(results=(JobResult("result", "x/result"),))
    validator("UWS.xsd")(results_document(j, job_url="http://h/j"))
    validator("UWS.xsd")(parameters_document(j))
