"""My jobs: the caller's UWS jobs of every job service of the site, with abort and delete (an ASGI app).

``Mount("/jobs", JobsPage(services={"/tap/async": tap.jobs, "/compute": compute}, assets=assets))`` lists,
newest first, the jobs the caller owns (the identity :class:`vostack.web.Authentication` found; anonymous
callers share the jobs made without logging in, as UWS 1.1 §2.1.4 has it): phase, creation, start and end
times, the query or parameters, links to the job document, its results (signed URLs for owned jobs) and
its error.  Abort and delete are plain forms (``POST /<service>/<job>`` with ``action=abort|delete``,
answered with a redirect to the list), so the page works without JavaScript.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from vostack import web
from vostack.errors import NotFoundError, ParameterError, PermissionDeniedError, VOError
from vostack.pages.assets import Assets
from vostack.pages.layout import Navigation, document
from vostack.uws import ACTIVE_PHASES, ExecutionPhase, Job, UWSService

__all__ = ["JobsPage"]


def _html_error(request: Request, exc: VOError) -> tuple[bytes, str]:
    page = f"<!DOCTYPE html><html lang='en'><meta charset='utf-8'><title>Error</title><p>{html.escape(exc.message)}</p>"
    return page.encode(), "text/html; charset=utf-8"


SHOWN = 200
"""The newest jobs listed per service."""


async def _same(job: Job) -> Job:
    return job


def _time(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


class JobsPage:
    """The caller's jobs of ``services`` (see the module docstring).

    Parameters
    ----------
    services
        The job services by the path their job list is mounted at (``"/tap/async"``, ``"/compute"``).
    assets, assets_url
        The static files and where the portal mounts them.
    nav
        Links in the page header: (label, URL), or a :class:`~vostack.pages.layout.Navigation` (links to
        tables' search pages only for callers who may read them).
    """

    def __init__(
        self,
        *,
        services: Mapping[str, UWSService],
        assets: Assets,
        assets_url: str = "/static",
        nav: Navigation | Sequence[tuple[str, str]] = (),
    ) -> None:
        if not services:
            raise ValueError("a jobs page needs at least one UWS service")
        self.services = {path.rstrip("/"): service for path, service in services.items()}
        self._names = {service.name: path for path, service in self.services.items()}
        if len(self._names) != len(self.services):
            raise ValueError("the job services of a jobs page need distinct names")
        self.assets = assets
        self.assets_url = assets_url
        self.nav = Navigation.of(nav)
        router = Router(
            routes=[
                Route("/", self._list, methods=["GET", "HEAD"]),
                Route("/{service}/{job_id}", self._act, methods=["POST"]),
            ]
        )
        self._app: ASGIApp = web.ErrorDocuments(router, service="jobs page", document=_html_error)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def _list(self, request: Request) -> Response:
        caller = web.identity(request)
        base = web.mount_url(request)
        origin = f"{request.url.scheme}://{request.url.netloc}"
        sections = []
        total = 0
        for path, service in self.services.items():
            owner = service.owner_of(request)
            jobs = await service.store.list(owner=owner, last=SHOWN)
            # the list has no results: read the completed jobs one by one (at most SHOWN)
            jobs = list(
                await asyncio.gather(
                    *(
                        service.store.get(job.job_id, owner=owner)
                        if job.phase is ExecutionPhase.COMPLETED
                        else _same(job)
                        for job in jobs
                    )
                )
            )
            total += len(jobs)
            rows = "".join(self._row(base, origin + path, service, job) for job in jobs)
            empty = "" if jobs else '<tr><td colspan="7">no jobs</td></tr>'
            sections.append(
                f'<h2>{html.escape(service.name)} <small><a href="{html.escape(origin + path)}">{html.escape(path)}'
                f'</a></small></h2><table class="jobs" data-service="{html.escape(service.name)}"><thead><tr>'
                "<th>job</th><th>phase</th><th>created</th><th>started</th><th>ended</th><th>query or parameters</th>"
                f"<th>results</th></tr></thead><tbody>{rows}{empty}</tbody></table>"
            )
        who = (
            f"Jobs of <strong>{html.escape(str(caller.name))}</strong>"
            if caller.authenticated
            else "You are not logged in: these are the jobs made without logging in, which every anonymous "
            "visitor shares (log in to see your own)"
        )
        body = (
            f'<main id="jobs"><h1>My jobs</h1><p>{who}; {total} in all, newest first (at most {SHOWN} per '
            "service). Times are UTC; a job is deleted with its results at its destruction time.</p>"
            f"{''.join(sections)}</main>"
        )
        css = self.assets.url(self.assets_url, "vostack.css")
        page = document(title="My jobs", body=body, css=css, nav=self.nav.links_for(caller))
        return HTMLResponse(page)

    def _row(self, base: str, jobs_url: str, service: UWSService, job: Job) -> str:
        e = html.escape
        url = f"{jobs_url}/{job.job_id}"
        query = job.parameter("QUERY")
        shown = query if query is not None else "\n".join(f"{k}={v}" for k, v in job.parameters
                                                          if not k.upper().startswith("UWS."))  # fmt: skip
        results = " ".join(
            f'<a class="result" href="{e(service.result_url(job, f"{url}/results/{r.result_id}"))}">'
            f"{e(r.result_id)}</a>" + (f" <small>({r.size:,} bytes)</small>" if r.size is not None else "")
            for r in job.results
        )
        if job.error is not None:
            message = e(job.error.message)
            results += f' <a class="job-error" href="{e(url)}/error" title="{message}">error</a>: {message}'
        actions = ""
        if job.phase in ACTIVE_PHASES:
            actions += self._button(base, service, job, "abort", "Abort")
        actions += self._button(base, service, job, "delete", "Delete")
        return (
            f'<tr data-job="{e(job.job_id)}"><td><a href="{e(url)}">{e(job.job_id)}</a>'
            f"{'<br><small>' + e(job.run_id) + '</small>' if job.run_id else ''}<br>{actions}</td>"
            f'<td class="phase-{e(job.phase.value)}">{e(job.phase.value)}</td><td>{_time(job.creation_time)}</td>'
            f'<td>{_time(job.start_time)}</td><td>{_time(job.end_time)}</td><td class="query">{e(shown)}</td>'
            f"<td>{results}</td></tr>"
        )

    def _button(self, base: str, service: UWSService, job: Job, action: str, label: str) -> str:
        target = f"{base}/{service.name}/{job.job_id}"
        return (
            f'<form method="post" action="{html.escape(target)}"><input type="hidden" name="action" value="{action}">'
            f'<button type="submit" class="{action}">{label}</button></form>'
        )

    async def _act(self, request: Request) -> Response:
        """Abort or delete one of the caller's jobs, then back to the list (POST/redirect/GET)."""
        _same_origin(request)
        path = self._names.get(request.path_params["service"])
        if path is None:
            raise NotFoundError(f"no job service {request.path_params['service']!r} on this page")
        service = self.services[path]
        form = await request.form()
        action = form.get("action")
        owner = service.owner_of(request)
        job_id = request.path_params["job_id"]
        if action == "abort":
            await service.abort(job_id, owner=owner)
        elif action == "delete":
            await service.delete(job_id, owner=owner)
        else:
            raise ParameterError("action must be abort or delete", param="action")
        return RedirectResponse(f"{web.mount_url(request)}/", status_code=303)


def _same_origin(request: Request) -> None:
    """Refuse a form posted from another site (browsers send credentials with cross-site form posts)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is not None and source != "null" and urlsplit(source).netloc != request.url.netloc:
        raise PermissionDeniedError("this form may only be sent from this site's own pages")
