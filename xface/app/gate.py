"""The passcode gate in front of the whole web server: an ASGI middleware for `st.App`.

Why here and not only in the page script: a Streamlit server also answers plain HTTP requests that
no page script sees, such as `/_stcore/metrics`, `/media/…` (the journal export and face pictures
shown on a page) and `/_stcore/upload_file/…`. While a passcode is set and Xface is served beyond
this computer, every request must carry the unlock cookie, or it gets the passcode form (a page),
a refusal (any other request) or a closed WebSocket. Only the health check answers everyone.

The cookie holds an HMAC of the passcode under a secret made fresh in each server process, so it
reveals nothing about the passcode and stops working when the server restarts or the passcode changes.
Pure ASGI, no Streamlit import: `xface/app/ui.py` and `app.py` plug it in.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import secrets
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

COOKIE = "xface_unlock"
UNLOCK_PATH = "/_xface/unlock"
OPEN_PATHS = ("/_stcore/health", "/_stcore/script-health-check")
"""Paths that answer without the passcode: "is the server up", and nothing else."""
MAX_FORM_BYTES = 4096
WRONG_PASSCODE_PAUSE_S = 1.0
"""A wrong passcode is answered after a pause, so guessing one by trying many takes long."""

_PROCESS_SECRET = secrets.token_bytes(32)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def unlock_token(passcode: str) -> str:
    """The cookie value that proves the passcode was given to this server process."""
    return hmac.new(_PROCESS_SECRET, passcode.encode(), hashlib.sha256).hexdigest()


def is_unlock_token(value: str, passcode: str) -> bool:
    """True when a cookie value is this process's unlock token for `passcode`."""
    return hmac.compare_digest(value.encode(), unlock_token(passcode).encode())


def holds_unlock_cookie(cookie_header: str, passcode: str) -> bool:
    """True when a Cookie header carries this process's unlock token for `passcode`."""
    cookies = SimpleCookie()
    try:
        cookies.load(cookie_header)
    except Exception:  # a malformed header is simply not an unlock
        return False
    morsel = cookies.get(COOKIE)
    return morsel is not None and is_unlock_token(morsel.value, passcode)


def passcode_form(next_path: str, wrong: bool = False) -> str:
    """A small page that asks for the passcode; a wrong one is said in text next to the field."""
    problem = '<p id="problem" role="alert">That passcode is not right.</p>' if wrong else ""
    described = ' aria-describedby="problem"' if wrong else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Xface: passcode</title>
<style>
body {{ font-family: sans-serif; background: #fbfaf7; color: #111; margin: 2rem auto; max-width: 28rem; }}
body {{ padding: 0 1rem; }}
h1 {{ color: #1d4e89; }} label {{ display: block; font-weight: 600; margin-bottom: .3rem; }}
input, button {{ font-size: 1rem; padding: .5rem; }} input {{ width: 100%; box-sizing: border-box; }}
button {{ margin-top: .8rem; background: #1d4e89; color: #fff; border: 0; border-radius: .3rem; }}
:focus-visible {{ outline: 3px solid #1d4e89; outline-offset: 2px; }} #problem {{ color: #9b1c1c; font-weight: 600; }}
</style></head>
<body><h1>Xface</h1>
<p>Xface is open to other computers here, so it asks for a passcode first.</p>
<form method="post" action="{UNLOCK_PATH}">
<label for="passcode">Passcode</label>
<input id="passcode" name="passcode" type="password" autocomplete="current-password" autofocus required{described}>
<input type="hidden" name="next" value="{html.escape(next_path, quote=True)}">
{problem}<button type="submit">Open Xface</button>
</form>
<p>Ask the person who runs this Xface for it.</p></body></html>"""


def _safe_next(path: str) -> str:
    """Only a path on this server: never another site (`//evil`, `https://…`)."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


class PasscodeGate:
    """ASGI middleware: nothing but the health check and the passcode form without the unlock cookie.

    `passcode()` gives the passcode in force (None: none set); `beyond_localhost()` says whether other
    computers can reach the server. On localhost the gate stands open, as the app's own gate does.
    Without a passcode beyond localhost, the pages load (the app says that a passcode is missing),
    but the metrics, media and upload endpoints refuse everyone.
    """

    LOCKED_ENDPOINTS = ("/_stcore/metrics", "/media/", "/_stcore/upload_file/")
    """Never answered without the unlock cookie (under any server.baseUrlPath)."""

    def __init__(self, app: Callable, passcode: Callable[[], str | None], beyond_localhost: Callable[[], bool]) -> None:
        self.app = app
        self.passcode = passcode
        self.beyond_localhost = beyond_localhost

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.beyond_localhost():
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "/")
        if path.endswith(OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        expected = self.passcode()
        if expected is None:
            if self._locked_endpoint(path):
                await _respond(send, 403, b"Locked: set a passcode for Xface first.", "text/plain")
            else:
                await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers", [])}
        if holds_unlock_cookie(headers.get("cookie", ""), expected):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        elif path == UNLOCK_PATH and scope.get("method") == "POST":
            await self._unlock(receive, send, expected)
        elif scope.get("method") in ("GET", "HEAD") and not self._locked_endpoint(path):
            query = scope.get("query_string", b"").decode("latin-1")
            await _respond(send, 401, passcode_form(path + (f"?{query}" if query else "")).encode(), "text/html")
        else:
            await _respond(send, 403, b"Locked: give the passcode first.", "text/plain")

    def _locked_endpoint(self, path: str) -> bool:
        return any(endpoint in path + "/" for endpoint in self.LOCKED_ENDPOINTS)

    async def _unlock(self, receive: Receive, send: Send, expected: str) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_FORM_BYTES:
                await _respond(send, 413, b"Too much data.", "text/plain")
                return
            if not message.get("more_body"):
                break
        fields = parse_qs(body.decode("utf-8", "replace"))
        given = fields.get("passcode", [""])[0]
        next_path = _safe_next(fields.get("next", ["/"])[0])
        if hmac.compare_digest(given.encode(), expected.encode()):
            cookie = f"{COOKIE}={unlock_token(expected)}; Path=/; HttpOnly; SameSite=Strict"
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", next_path.encode()), (b"set-cookie", cookie.encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
        else:
            await asyncio.sleep(WRONG_PASSCODE_PAUSE_S)
            await _respond(send, 401, passcode_form(next_path, wrong=True).encode(), "text/html")


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", f"{content_type}; charset=utf-8".encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
