"""The app factory: pages, API and feeds over one read-only engine."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import DataError, DBAPIError

from newsmon.core.errors import NewsmonError, one_line
from newsmon.interface.web import api, feeds, pages
from newsmon.interface.web.database import read_only_engine
from newsmon.interface.web.pages import render
from newsmon.interface.web.security import SecurityMiddleware

HERE = Path(__file__).parent


def create_app(database_url: str, *, token: str | None = None) -> FastAPI:
    """The web app over `database_url`, opened read-only; with `token`, every request must carry it."""
    app = FastAPI(title="newsmon", version="1", docs_url=None, redoc_url=None,
                  description="Read-only API over the newsmon database: the CLI's JSON fields and query language.")
    app.state.engine = read_only_engine(database_url)
    app.state.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                      autoescape=select_autoescape(default=True, default_for_string=True))
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(SecurityMiddleware, token=token)
    app.add_exception_handler(NewsmonError, _newsmon_error)
    app.add_exception_handler(DBAPIError, _database_error)
    return app


def _status(error: Exception) -> int:
    return 404 if isinstance(error, LookupError) else 400


def _newsmon_error(request: Request, error: NewsmonError) -> Response:
    return _error(request, _status(error), one_line(error))


def _database_error(request: Request, error: DBAPIError) -> Response:
    # e.g. a value PostgreSQL refuses (a NUL byte): the request's fault; a lost server: ours
    status = 400 if isinstance(error, DataError) else 503
    return _error(request, status, f"the database could not answer: {one_line(error.orig or error)}")


def _error(request: Request, status: int, message: str) -> Response:
    path = request.url.path
    if path.startswith(("/api/", "/feeds/", "/openapi")) or path.endswith(".png"):
        return JSONResponse({"detail": message}, status_code=status)
    heading = {400: "That request cannot be answered", 404: "Not found"}.get(status, "The database is unavailable")
    return render(request, "error.html", status=status, heading=heading, message=message)
