"""Serve a folder on 127.0.0.1 for the offline demo (stdlib, read per request)."""
from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".rss": "application/rss+xml",
                      ".atom": "application/atom+xml", ".xml": "application/rss+xml"}

    def log_message(self, format, *args) -> None:  # the demo prints its own summary
        pass


class StaticServer:
    """Files under `root` at http://127.0.0.1:PORT/ (Last-Modified and 304 from the stdlib handler)."""

    def __init__(self, root: Path):
        handler = partial(_QuietHandler, directory=str(root))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "StaticServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
