"""Every endpoint of the demo as the anonymous caller, a member of the private project (alice) and a non-member
(bob), over real HTTP with kept-alive sessions: what each one sees (issue "Private projects").

The demo's private project (:mod:`vostack.demo.project`): ``consortium.targets`` (group ``consortium``, its
``priority`` column for ``consortium-pi``), the latest SpeX spectra (SSA, DataLink, getData, ``ivoa.obscore``)
the maps of Saturn's moons (``surface_maps.epn_core`` and their files) and an HST image (SIA, its DataLink, SODA
cutouts sync and async) under the consortium's embargo.
alice is in ``consortium`` and ``consortium-pi``, bob in ``astronomers``.  Each case below observes one endpoint
and states what each identity must get; the expected numbers come from the database itself.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
import pyvo
import requests
from astropy.io.votable import parse
from lxml import etree
from starlette.types import ASGIApp

from tests.interop.conftest import LiveServer
from vostack.cli import build_registry, publication_app
from vostack.demo import project
from vostack.publish import Publication

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

WHO = ("anonymous", "alice", "bob")


@dataclass(frozen=True)
class Facts:
    """What the database holds, read as its owner (every row)."""

    spectra: int
    embargoed_spectra: tuple[str, ...]
    maps: int
    targets: int
    released_pubdid: str
    cone: int  # Hipparcos stars within 1 degree of (56.75, 24.12)
    obscore: int  # rows of ivoa.obscore: spectra and images
    embargoed_images: tuple[str, ...]
    image_cut: dict[str, str]  # publisher DID -> a CIRCLE inside it: an embargoed image and a public one


@dataclass
class Site:
    """The live server and a kept-alive session per identity."""

    root: str
    public_root: str  # where the views' access URLs point (the session's first live server)
    sessions: dict[str, requests.Session]
    facts: Facts
    job: str  # the URL of alice's async job on the private table
    soda_job: str  # the URL of alice's async SODA cutout of the embargoed image

    def url(self, access_url: str) -> str:
        """An access URL of a view, on this server."""
        return access_url.replace(self.public_root, self.root, 1)


@pytest.fixture(scope="module")
def site(
    postgres_dsn: str,
    live_server: LiveServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    state = tmp_path_factory.mktemp("auth")

    def make_app(publication: Publication) -> ASGIApp:
        publication.auth = project.demo_auth(state)  # as `vostack demo` serves it: the demo's tokens
        return publication_app(publication, build_registry(publication.tap, None, publication.ssa, publication))

    # the views stay the ones live_server made (their access URLs point there; see Site.url)
    server = live_server.beside(make_app, images=True)
    server.start_serving()
    tokens = project.demo_tokens(state)
    sessions = {}
    for who in WHO:
        session = requests.Session()
        if who in tokens:
            session.headers["Authorization"] = f"Bearer {tokens[who]}"
        sessions[who] = session
    job = _run_job(sessions["alice"], server.root, "SELECT hip, priority FROM consortium.targets")
    facts = _facts(postgres_dsn)
    soda_job = _run_cut(sessions["alice"], server.root, facts.embargoed_images[0], facts)
    try:
        yield Site(server.root, live_server.public_url, sessions, facts, job, soda_job)
    finally:
        for session in sessions.values():
            session.close()
        server.stop()


def _facts(dsn: str) -> Facts:
    import asyncio

    async def read() -> Facts:
        conn = await asyncpg.connect(dsn)
        try:
            embargoed = await conn.fetch("SELECT pubdid FROM spex.spectra WHERE release_date > now() ORDER BY 1")
            hidden = await conn.fetch(
                "SELECT obs_publisher_did FROM images.sky WHERE release_date > now() ORDER BY 1"
            )  # the image tables of the demo: the sky one holds the embargoed image
            cuts = await conn.fetch(
                "(SELECT obs_publisher_did, s_ra, s_dec FROM images.sky WHERE release_date > now() ORDER BY 1 LIMIT 1) "
                "UNION ALL (SELECT obs_publisher_did, s_ra, s_dec FROM images.sky WHERE release_date IS NULL "
                "ORDER BY 1 LIMIT 1)"
            )
            return Facts(
                spectra=await conn.fetchval("SELECT count(*) FROM spex.spectra"),
                embargoed_spectra=tuple(r[0] for r in embargoed),
                maps=await conn.fetchval("SELECT count(*) FROM planetary.maps"),
                targets=await conn.fetchval("SELECT count(*) FROM consortium.targets"),
                released_pubdid=await conn.fetchval(
                    "SELECT pubdid FROM spex.spectra WHERE release_date IS NULL ORDER BY 1 LIMIT 1"
                ),
                cone=await conn.fetchval(
                    "SELECT count(*) FROM hipparcos.main WHERE spoint(radians(ra), radians(dec)) "
                    "<@ scircle(spoint(radians(56.75), radians(24.12)), radians(1))"
                ),
                obscore=await conn.fetchval("SELECT count(*) FROM ivoa.obscore"),
                embargoed_images=tuple(r[0] for r in hidden),
                image_cut={did: f"{ra} {dec} 0.0005" for did, ra, dec in cuts},
            )
        finally:
            await conn.close()

    return asyncio.run(read())


# ---------------------------------------------------------------------- how endpoints are observed


def _sync(site: Site, who: str, adql: str) -> Any:
    """The rows of a TAP sync query (CSV), or the HTTP status of a refusal."""
    answer = site.sessions[who].post(
        f"{site.root}/tap/sync", data={"LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": "csv"}, timeout=60
    )
    if answer.status_code != 200:
        return answer.status_code
    return answer.text.strip().splitlines()[1:]


def _count(site: Site, who: str, adql: str) -> Any:
    rows = _sync(site, who, adql)
    return int(rows[0]) if isinstance(rows, list) else rows


def _get(site: Site, who: str, path: str, **params: str) -> requests.Response:
    return site.sessions[who].get(f"{site.root}{path}", params=params, timeout=120)


def _votable_rows(answer: requests.Response) -> int:
    assert answer.status_code == 200, answer.text[:500]
    return len(parse(io.BytesIO(answer.content), verify="warn").get_first_table().array)


def _maps(site: Site, who: str) -> dict[str, str]:
    rows = _sync(site, who, "SELECT obs_id, access_url FROM surface_maps.epn_core")
    assert isinstance(rows, list)
    return dict(row.split(",", 1) for row in rows)


def _map_file(site: Site, who: str, name: str, suffix: str = "") -> int:
    """The status of a map's file (``suffix="?preview"``: its thumbnail), through the URL alice sees."""
    url = site.url(_maps(site, "alice")[name]) + suffix
    return site.sessions[who].get(url, timeout=120).status_code


def _has(answer: requests.Response, *texts: str) -> tuple[int, tuple[bool, ...]]:
    return answer.status_code, tuple(text in answer.text for text in texts)


def _job(site: Site, who: str) -> tuple[int, str, bool]:
    """alice's job as ``who`` sees it: status, phase, whether it is in ``who``'s job list."""
    session = site.sessions[who]
    job = session.get(site.job, params={"WAIT": "30"}, timeout=60)
    if job.status_code == 200 and b"EXECUTING" in job.content:  # WAIT ends at a phase change: wait for the next
        job = session.get(site.job, params={"WAIT": "30"}, timeout=60)
    phase = re.search(rb"<uws:phase>(\w+)</uws:phase>", job.content)
    listed = site.job.rsplit("/", 1)[-1] in session.get(f"{site.root}/tap/async", timeout=30).text
    return job.status_code, phase.group(1).decode() if phase else "", listed


def _job_result(site: Site, who: str) -> Any:
    answer = site.sessions[who].get(site.job + "/results/result", timeout=60)
    if answer.status_code != 200:
        return answer.status_code
    return _votable_rows(answer)


def _run_job(session: requests.Session, root: str, adql: str) -> str:
    """The URL of a TAP async job running ``adql``."""
    created = session.post(
        f"{root}/tap/async", data={"LANG": "ADQL", "QUERY": adql, "PHASE": "RUN"}, allow_redirects=False, timeout=30
    )
    assert created.status_code == 303, created.text
    return created.headers["location"]


def _job_of(site: Site, who: str) -> str:
    """The phase of a job ``who`` runs on the private table."""
    session = site.sessions[who]
    url = _run_job(session, site.root, "SELECT hip FROM consortium.targets")
    for _ in range(3):
        phase = session.get(url + "/phase", params={}, timeout=30).text.strip()
        if phase in ("COMPLETED", "ERROR"):
            break
        session.get(url, params={"WAIT": "30"}, timeout=60)
    session.delete(url, timeout=30)
    return phase


def _sia(site: Site, who: str) -> tuple[int, bool, bool]:
    """SIA 2.0 over ivoa.obscore: how many records, whether the embargoed spectra and the image are among them."""
    answer = _get(site, who, "/sia/query", MAXREC="100000")
    assert answer.status_code == 200, answer.text[:500]
    dids = {str(d) for d in parse(io.BytesIO(answer.content)).get_first_table().array["obs_publisher_did"]}
    return (
        len(dids),
        set(site.facts.embargoed_spectra) <= dids,
        site.facts.embargoed_images[0] in dids,
    )


def _sia_datalink(site: Site, who: str) -> tuple[int, bool]:
    """DataLink of the embargoed image: status, whether it gives its links (not a NotFoundFault)."""
    answer = _get(site, who, "/sia/datalink", ID=site.facts.embargoed_images[0])
    return answer.status_code, b"#preview" in answer.content and b"NotFoundFault" not in answer.content


def _soda_sync(site: Site, who: str) -> tuple[tuple[int, str], ...]:
    """SODA sync cutouts of the embargoed image and of a public one: status and fault (the error's first word)."""
    answers = [_get(site, who, "/sia/soda", ID=did, CIRCLE=circle) for did, circle in site.facts.image_cut.items()]
    return tuple((a.status_code, "" if a.ok else a.text.split(":", 1)[0]) for a in answers)


def _run_cut(session: requests.Session, root: str, did: str, facts: Facts) -> str:
    """The URL of an async SODA job cutting the image ``did``."""
    created = session.post(
        f"{root}/sia/soda/async",
        data={"ID": did, "CIRCLE": facts.image_cut[did], "PHASE": "RUN"},
        allow_redirects=False,
        timeout=30,
    )
    assert created.status_code == 303, created.text
    return created.headers["location"]


def _finished(session: requests.Session, url: str) -> requests.Response:
    """The job document at ``url`` once the job has ended (WAIT ends at each phase change)."""
    job = session.get(url, params={"WAIT": "30"}, timeout=60)
    for _ in range(3):
        if job.status_code != 200 or not re.search(rb"<uws:phase>(QUEUED|EXECUTING|PENDING)<", job.content):
            break
        job = session.get(url, params={"WAIT": "30"}, timeout=60)
    return job


def _soda_job_of_alice(site: Site, who: str) -> tuple[int, str, bool, int]:
    """alice's async cut of the embargoed image as ``who`` sees it: status, phase, listed, result status."""
    session = site.sessions[who]
    job = _finished(session, site.soda_job)
    phase = re.search(rb"<uws:phase>(\w+)</uws:phase>", job.content)
    listed = site.soda_job.rsplit("/", 1)[-1] in session.get(f"{site.root}/sia/soda/async", timeout=30).text
    result = session.get(site.soda_job + "/results/result", timeout=60)
    if result.status_code == 200:  # the cut: a FITS file
        assert result.content.startswith(b"SIMPLE  =")
    return job.status_code, phase.group(1).decode() if phase else "", listed, result.status_code


def _soda_own_job(site: Site, who: str) -> tuple[str, str]:
    """``who``'s own async cut of the embargoed image: its phase, and the fault of its error."""
    session = site.sessions[who]
    url = _run_cut(session, site.root, site.facts.embargoed_images[0], site.facts)
    job = _finished(session, url)
    phase = re.search(rb"<uws:phase>(\w+)</uws:phase>", job.content)
    error = session.get(url + "/error", timeout=30)
    session.delete(url, timeout=30)
    return phase.group(1).decode() if phase else "", error.text.split(":", 1)[0] if error.ok else ""


def _tables(site: Site, who: str) -> tuple[bool, bool, int]:
    """/tap/tables: lists consortium.targets, its priority column; status of /tap/tables/consortium.targets."""
    listing = _get(site, who, "/tap/tables")
    names = etree.fromstring(listing.content).xpath("//table/name/text()")
    columns = etree.fromstring(listing.content).xpath("//table[name='consortium.targets']/column/name/text()")
    return (
        "consortium.targets" in names,
        "priority" in columns,
        _get(site, who, "/tap/tables/consortium.targets").status_code,
    )


def _capabilities(site: Site, who: str) -> tuple[int, bool, bool, int]:
    answer = _get(site, who, "/tap/capabilities")
    return (
        answer.status_code,
        "ivoa_bearer" in answer.headers.get("www-authenticate", ""),
        b"ivo://ivoa.net/sso#token" in answer.content,
        _get(site, who, "/tap/availability").status_code,
    )


def _ssa_records(site: Site, who: str) -> int:
    answer = _get(site, who, "/ssa/", REQUEST="queryData", FORMAT="native", MAXREC="10000")
    return _votable_rows(answer)


def _getdata(site: Site, who: str) -> tuple[int, int]:
    """getData of an embargoed spectrum, and of a public one."""
    hidden, public = site.facts.embargoed_spectra[0], site.facts.released_pubdid
    return (
        _get(site, who, "/ssa/", REQUEST="getData", PUBDID=hidden).status_code,
        _get(site, who, "/ssa/", REQUEST="getData", PUBDID=public).status_code,
    )


def _datalink(site: Site, who: str) -> tuple[int, bool]:
    """DataLink of an embargoed spectrum: status, whether it gives links (not a NotFoundFault)."""
    answer = _get(site, who, "/ssa/datalink", ID=site.facts.embargoed_spectra[0])
    return answer.status_code, b"#preview" in answer.content and b"NotFoundFault" not in answer.content


def _obscore_link(site: Site, who: str) -> Any:
    """An embargoed spectrum's ObsCore row and the DataLink document its access_url gives."""
    pubdid = site.facts.embargoed_spectra[0]
    rows = _sync(site, who, f"SELECT access_url FROM ivoa.obscore WHERE obs_publisher_did = '{pubdid}'")
    if not rows:
        return "no row"
    assert isinstance(rows, list)
    return site.sessions[who].get(site.url(rows[0]), timeout=60).status_code


def _registry(site: Site, who: str) -> tuple[int, bool, bool]:
    """The OAI-PMH records: public view for everyone (no private table in the TAP record's tableset)."""
    records = _get(site, who, "/oai", verb="ListRecords", metadataPrefix="ivo_vor")
    tap = _get(site, who, "/oai", verb="GetRecord", identifier="ivo://vostack.demo/tap", metadataPrefix="ivo_vor")
    return records.status_code, "consortium" in tap.text, "hipparcos.main" in tap.text


def _moc(site: Site, who: str) -> tuple[bool, int, int]:
    """The MOC index lists consortium.targets; its MOC's status; the rows of spex.spectra's MOC."""
    index = _get(site, who, "/moc/").json()
    return (
        "consortium.targets" in index,
        _get(site, who, "/moc/consortium.targets/space.txt").status_code,
        index["spex.spectra"]["space"]["rows"],
    )


def _scs(site: Site, who: str) -> tuple[int, int]:
    """A cone of the public catalogue (the same for all) and of the exoplanets (EPN-TAP)."""
    hip = _get(site, who, "/scs/hipparcos.main/", RA="56.75", DEC="24.12", SR="1")
    oec = _get(site, who, "/scs/oec.epn_core/", RA="185.179", DEC="17.793", SR="0.1")
    return _votable_rows(hip), _votable_rows(oec)


def _page(site: Site, who: str) -> tuple[int, tuple[bool, ...], int, bool, int]:
    """The TAP page: holdings listed, the examples page, a query's preview shows rows; the login form."""
    page = _get(site, who, "/tap/")
    preview = _get(site, who, "/tap/", QUERY="SELECT TOP 3 hip, priority FROM consortium.targets")
    login = site.sessions[who].get(f"{site.root}/login", headers={"Accept": "text/html"}, timeout=30)
    return (
        page.status_code,
        ("consortium.targets" in page.text, "surface_maps.epn_core" in page.text),
        _get(site, who, "/tap/examples").status_code,
        preview.status_code == 200 and "<td>" in preview.text.split("consortium.targets", 1)[-1],
        login.status_code,
    )


@dataclass(frozen=True)
class Case:
    """One endpoint: how it is observed, and what each identity must observe (a function of the facts)."""

    name: str
    observe: Callable[[Site, str], object]
    expect: Callable[[Facts], dict[str, object]]


def _same(value: object) -> Callable[[Facts], dict[str, object]]:
    return lambda facts: dict.fromkeys(WHO, value)


def _member(member: object, others: object) -> Callable[[Facts], dict[str, object]]:
    return lambda facts: {"anonymous": others, "alice": member, "bob": others}


CASES = [
    # TAP sync: a private table and column answer as for a missing one (400), embargoed rows are filtered
    Case("tap-sync-private-table", lambda s, w: _count(s, w, "SELECT COUNT(*) FROM consortium.targets"),
         lambda f: {"anonymous": 400, "alice": f.targets, "bob": 400}),
    Case("tap-sync-private-column", lambda s, w: len(r) if isinstance(r := _sync(
        s, w, "SELECT hip, priority FROM consortium.targets"), list) else r,
         lambda f: {"anonymous": 400, "alice": f.targets, "bob": 400}),
    Case("tap-sync-embargoed-spectra", lambda s, w: _count(s, w, "SELECT COUNT(*) FROM spex.spectra"),
         lambda f: _member(f.spectra, f.spectra - len(f.embargoed_spectra))(f)),
    Case("tap-sync-obscore", lambda s, w: _count(s, w, "SELECT COUNT(*) FROM ivoa.obscore"),
         lambda f: _member(f.obscore, f.obscore - len(f.embargoed_spectra) - len(f.embargoed_images))(f)),
    Case("epntap-via-tap", lambda s, w: sorted(set(_maps(s, "alice")) - set(_maps(s, w))),
         _member([], sorted(project.EMBARGOED_MAPS))),
    # TAP_SCHEMA: each identity's own rows
    Case("tap-schema-tables", lambda s, w: _sync(
        s, w, "SELECT table_name FROM tap_schema.tables WHERE schema_name = 'consortium'"),
         _member(["consortium.targets"], [])),
    Case("tap-schema-columns", lambda s, w: _count(
        s, w, "SELECT COUNT(*) FROM tap_schema.columns WHERE column_name = 'priority'"), _member(1, 0)),
    # TAP async and UWS: jobs belong to their creator, run with its view
    Case("uws-job-of-alice", _job, _member((200, "COMPLETED", True), (404, "", False))),
    Case("uws-result-of-alice", _job_result, lambda f: _member(f.targets, 404)(f)),
    Case("uws-own-job-on-private-table", _job_of, _member("COMPLETED", "ERROR")),
    # VOSI
    Case("vosi-tables", _tables, _member((True, True, 200), (False, False, 404))),
    Case("vosi-capabilities-availability", _capabilities, _same((200, True, True, 200))),
    # SSA, DataLink, getData
    Case("ssa-query", _ssa_records, lambda f: _member(f.spectra, f.spectra - len(f.embargoed_spectra))(f)),
    Case("ssa-getdata", _getdata, _member((200, 200), (404, 200))),
    Case("datalink", _datalink, _member((200, True), (200, False))),
    Case("obscore-access-url", _obscore_link, _member(200, "no row")),
    # SIA 2.0 over ivoa.obscore (embargoed spectra and images), its DataLink, SODA sync and async cutouts
    Case("sia-query", _sia, lambda f: _member(
        (f.obscore, True, True), (f.obscore - len(f.embargoed_spectra) - len(f.embargoed_images), False, False))(f)),
    Case("sia-datalink", _sia_datalink, _member((200, True), (200, False))),
    Case("soda-sync", _soda_sync, _member(((200, ""), (200, "")), ((404, "NotFoundFault"), (200, "")))),
    Case("soda-async-job-of-alice", _soda_job_of_alice, _member((200, "COMPLETED", True, 200), (404, "", False, 404))),
    Case("soda-async-own-job", _soda_own_job, _member(("COMPLETED", ""), ("ERROR", "NotFoundFault"))),
    # product files of embargoed EPN-TAP granules, and their thumbnails
    Case("products-file", lambda s, w: (_map_file(s, w, "dione"), _map_file(s, w, "mars")),
         _member((200, 200), (404, 200))),
    Case("products-thumbnail", lambda s, w: _map_file(s, w, "rhea", "?preview"), _member(200, 404)),
    # the registry shows the public view to all
    Case("registry-oai-pmh", _registry, _same((200, False, True))),
    # MOC: a private table's MOC for its group; a table with embargoed rows: the public MOC for all
    Case("moc", _moc, lambda f: _member((True, 200, f.spectra - len(f.embargoed_spectra)),
                                        (False, 404, f.spectra - len(f.embargoed_spectra)))(f)),
    Case("scs", _scs, lambda f: _same((f.cone, 1))(f)),
    # HTML: the TAP page lists what each one sees and previews its queries; examples; the login form
    Case("html-pages", _page, _member((200, (True, True), 200, True, 200), (200, (False, True), 200, False, 200))),
]  # fmt: skip


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_endpoint_shows_each_identity_what_it_may_see(site: Site, case: Case, who: str) -> None:
    assert case.observe(site, who) == case.expect(site.facts)[who]


def test_credentials_are_checked_and_the_caller_named(site: Site) -> None:
    bad = site.sessions["anonymous"].get(
        f"{site.root}/tap/tables", headers={"Authorization": "Bearer not-a-token"}, timeout=30
    )
    assert bad.status_code == 401 and "ivoa_bearer" in bad.headers["www-authenticate"]
    assert _get(site, "alice", "/tap/tables").headers["x-vo-authenticated"] == "alice"


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # pyvo leaves a streamed response to the collector
def test_pyvo_with_a_bearer_token_sees_the_private_project(site: Site) -> None:
    auth = pyvo.auth.AuthSession()
    auth.credentials.set("ivo://ivoa.net/sso#token", site.sessions["alice"])  # its Authorization: Bearer header
    tap = pyvo.dal.TAPService(f"{site.root}/tap", session=auth)
    auth.update_from_capabilities(tap.capabilities)
    targets = tap.run_sync("SELECT hip, priority FROM consortium.targets").to_table()
    assert len(targets) == site.facts.targets and set(targets["priority"]) == {1, 2, 3}
    maps = tap.run_async("SELECT obs_id FROM surface_maps.epn_core").to_table()
    assert len(maps) == site.facts.maps and set(project.EMBARGOED_MAPS) <= set(maps["obs_id"])
    # pyvo reads no capabilities of an SSA service: the token goes to its URLs as the SSA capabilities say
    ssa_caps = _get(site, "anonymous", "/ssa/capabilities")
    assert b'standardID="ivo://ivoa.net/sso#token"' in ssa_caps.content
    auth.add_security_method_for_url(f"{site.root}/ssa/", "ivo://ivoa.net/sso#token")
    ssa = pyvo.dal.SSAService(f"{site.root}/ssa/", session=auth)
    spectra = ssa.search(maxrec=10_000, format="native")
    assert len(spectra) == site.facts.spectra
    anonymous = pyvo.dal.TAPService(f"{site.root}/tap", session=site.sessions["anonymous"])
    assert len(anonymous.run_sync("SELECT obs_id FROM surface_maps.epn_core")) == site.facts.maps - 3
