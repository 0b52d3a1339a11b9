"""What every response carries, and the token a non-loopback server asks for.

Article titles and texts come from the open web: templates escape everything
(Jinja autoescape), and a strict Content-Security-Policy keeps any markup that
slipped through from running scripts or loading anything from elsewhere.
"""
from __future__ import annotations

import hmac
import ipaddress

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
TOKEN_COOKIE = "newsmon_token"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SecurityMiddleware(BaseHTTPMiddleware):
    """Adds HEADERS; with a token, refuses requests that do not carry it.

    The token comes as `Authorization: Bearer TOKEN`, as `?token=TOKEN` (feed
    readers) or as the cookie set after a browser's first `?token=` visit.
    """

    def __init__(self, app, token: str | None = None):
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next) -> Response:
        given = self._given_token(request)
        if self.token and not (given and hmac.compare_digest(given.encode(), self.token.encode())):
            response: Response = PlainTextResponse("a token is required: ?token=... or Authorization: Bearer ...",
                                                   status_code=401)
        else:
            response = await call_next(request)
            if self.token and request.query_params.get("token"):
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
        response.headers.update(HEADERS)
        return response

    @staticmethod
    def _given_token(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)
