"""`newsmon serve`: the read-only web app, its JSON API (OpenAPI at /openapi.json) and Atom feeds."""
from newsmon.interface.web.app import create_app

__all__ = ["create_app"]
