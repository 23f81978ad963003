"""`citewatch serve`: a read-only web view of one project's metrics, report archive and stored samples.

Handlers are plain functions, which Starlette runs in its thread pool: the database reads block."""

from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from citewatch.status import FAILED
from monitor.clock import Clock, system_clock
from monitor.config import Config
from monitor.metrics import period_metrics
from monitor.report.build import per_engine_rows
from monitor.report.engine_names import engine_labels
from monitor.web import params, reads
from monitor.web.archive import archive_file, archived_weeks, media_type
from monitor.web.auth import TokenAuth
from monitor.web.headers import SecurityHeaders
from monitor.web.labels import labels
from monitor.web.pages import environment, render
from monitor.web.settings import serve_settings
from storage import repository

PAGE_SIZE = 50
_PART_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # part names come from our probes; anything else is not offered

__all__ = ["make_app", "serve_settings"]


class WebView:
    """The handlers, over one config's project in a database opened read-only by the caller."""

    def __init__(self, config: Config, db: Engine, archive: Path | None, clock: Clock) -> None:
        self.config, self.db, self.archive, self.clock = config, db, archive, clock
        self.project = config.project_name
        self.language = config.report.language
        self.env = environment(self.language)
        names = engine_labels({e.id: (e.kind, e.base_url) for e in config.engines})
        self.env.filters["engine"] = lambda engine_id: names.get(engine_id, {}).get(self.language, engine_id)

    # --- helpers ---

    def _known_engines(self) -> set[str]:
        """Configured engines and those of the stored history (an engine since removed from config)."""
        return {e.id for e in self.config.engines} | set(repository.stored_engine_ids(self.db, self.project))

    def _page(self, template: str, **context: object) -> HTMLResponse:
        return HTMLResponse(render(self.env, template, t=labels(self.language), lang=self.language,
                                   project=self.project, **context))

    def _metrics(self, request: Request) -> tuple[dict, list[str]]:
        since, until = params.period(request.query_params, self.clock().astimezone(UTC).date())
        engines = params.engines(request.query_params, self._known_engines)
        result = period_metrics(self.db, self.project, since, until, engines=engines,
                                min_sample=self.config.metrics.min_sample)
        return result, engines

    # --- endpoints ---

    def healthz(self, request: Request) -> JSONResponse:
        try:
            reads.ping(self.db)
            newest = reads.newest_observation(self.db, self.project)
        except Exception:  # noqa: BLE001 (whatever failed, the answer is the same and says no more)
            return JSONResponse({"status": "failed", "database": "unreachable", "newest_observation": None}, 503)
        return JSONResponse({"status": "ok", "database": "ok",
                             "newest_observation": newest.isoformat() if newest else None})

    def index(self, request: Request) -> HTMLResponse:
        return self._page("index.html", archive_served=self.archive is not None,
                          weeks=archived_weeks(self.archive), keywords=reads.project_keywords(self.db, self.project))

    def metrics_api(self, request: Request) -> JSONResponse:
        result, _ = self._metrics(request)
        return JSONResponse(result)

    def metrics_page(self, request: Request) -> HTMLResponse:
        result, engines = self._metrics(request)
        period = {"since": result["period"]["since"], "until": result["period"]["until"]}
        keyword_ids = {k.text: k.id for k in reads.project_keywords(self.db, self.project)}
        choices = sorted({e.id for e in self.config.engines} | set(result["engines"]))
        return self._page(
            "metrics.html", m=result, rows=per_engine_rows({"metrics": result}), brand=self.config.brand.name,
            selected=engines, engine_choices=choices, keyword_ids=keyword_ids,
            json_url="/api/metrics?" + urlencode([*period.items(), *(("engine", e) for e in engines)]),
            keyword_url=lambda keyword_id: f"/keywords/{keyword_id}"
                                           + ("?" + urlencode([("engine", e) for e in engines]) if engines else ""))

    def report_file(self, request: Request) -> FileResponse:
        week, name = request.path_params["week"], request.path_params["file"]
        path = archive_file(self.archive, week, name) if self.archive is not None else None
        if path is None:
            raise HTTPException(404)
        return FileResponse(path, media_type=media_type(name))

    def keyword_page(self, request: Request) -> HTMLResponse:
        keyword = reads.project_keyword(self.db, self.project, request.path_params["keyword_id"])
        if keyword is None:
            raise HTTPException(404)
        engines = params.engines(request.query_params, self._known_engines)
        page = params.page(request.query_params)
        total, samples = reads.keyword_samples(self.db, keyword.id, engines, (page - 1) * PAGE_SIZE, PAGE_SIZE)

        def page_url(number: int, engine: str | None = None) -> str:
            query = [("engine", e) for e in ([engine] if engine else engines)] + [("page", str(number))]
            return f"/keywords/{keyword.id}?{urlencode(query)}"

        return self._page("keyword.html", keyword=keyword, samples=samples, total=total, page=page,
                          pages=max(1, -(-total // PAGE_SIZE)), selected=engines, page_url=page_url,
                          engine_choices=sorted({e.id for e in self.config.engines} | set(engines)),
                          failed=FAILED)

    def raw(self, request: Request) -> Response:
        observation_id = request.path_params["observation_id"]
        result = reads.observation_raw(self.db, self.project, observation_id)
        wanted = request.path_params.get("part")
        part = None if result is None else result.first if wanted is None else result.part(wanted)
        if part is None or not _PART_NAME.fullmatch(part.name):
            raise HTTPException(404)
        # the file name is ours, never the engine's: the client saves it, so it must not name a path
        filename = f"observation-{observation_id}-{part.name}.bin"
        return Response(part.data, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _bad_param(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, 400)


def make_app(config: Config, db: Engine, archive: Path | None, token: str | None, *,
             clock: Clock = system_clock) -> Starlette:
    """The web view. `db` is opened read-only by the caller; `token` (from `serve_settings`), when given, is
    required on every request but /healthz; `clock` sets "today" for the default metrics period."""
    view = WebView(config, db, archive, clock)
    routes = [
        Route("/healthz", view.healthz),
        Route("/", view.index),
        Route("/metrics", view.metrics_page),
        Route("/api/metrics", view.metrics_api),
        Route("/reports/{week}/{file}", view.report_file),
        Route("/keywords/{keyword_id:int}", view.keyword_page),
        Route("/observations/{observation_id:int}/raw", view.raw),
        Route("/observations/{observation_id:int}/raw/{part}", view.raw),
    ]
    # outermost first: the headers go on every response, the 401 included
    middleware = [Middleware(SecurityHeaders), Middleware(TokenAuth, token=token)]
    return Starlette(routes=routes, middleware=middleware,
                     exception_handlers={params.BadParam: _bad_param})
