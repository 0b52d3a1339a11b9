"""`newsmon serve`: the read-only web app, JSON API and Atom feeds (newsmon.interface.web)."""
from __future__ import annotations

import os
import socket
from typing import Optional

import typer

from models.engine import database_url

TOKEN_VARIABLE = "NEWSMON_WEB_TOKEN"


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (loopback by default)"),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="0: any free port"),
    token: Optional[str] = typer.Option(None, "--token", envvar=TOKEN_VARIABLE,
                                        help=f"required from every request; needed off loopback (or {TOKEN_VARIABLE})"),
) -> None:
    """Read-only web app + JSON API (/openapi.json) + Atom feeds (/feeds/alerts.atom, /feeds/searches/NAME.atom)."""
    from newsmon.interface.cli import check_database_exists, run_guarded, UserError
    from newsmon.interface.web.security import is_loopback

    def action():
        import uvicorn

        from newsmon.interface.web import create_app

        if not is_loopback(host) and not token:
            raise UserError(f"serving on {host} (not loopback) needs a token: --token or {TOKEN_VARIABLE}")
        if token and len(token) < 16:
            raise UserError("the token is too short to guess-proof: use 16 characters or more")
        url = database_url()
        check_database_exists(url)
        app = create_app(url, token=token)
        listening = _bind(host, port)
        bound = listening.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"newsmon web app on http://{shown}:{bound}/ (read-only{', token required' if token else ''})",
                   err=True)
        server = uvicorn.Server(uvicorn.Config(app, log_level=os.environ.get("NEWSMON_WEB_LOG", "warning")))
        server.run(sockets=[listening])

    run_guarded(action)


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that --port 0 can say which port it got."""
    try:
        family, kind, _proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        listening = socket.socket(family, kind)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
    except OSError as error:
        from newsmon.interface.cli import UserError

        raise UserError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    return listening
