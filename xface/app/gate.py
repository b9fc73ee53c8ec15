"""The passcode gate in front of the whole web server: an ASGI middleware for `st.App`.

Why here and not only in the page script: a Streamlit server also answers plain HTTP requests that
no page script sees, such as `/_stcore/metrics`, `/media/…` (the journal export and face pictures
shown on a page) and `/_stcore/upload_file/…`. While a passcode is set and Xface is served beyond
this computer, every request must carry the unlock cookie, or it gets the passcode form (a page),
a refusal (any other request) or a closed WebSocket. Only the health check answers everyone.

The cookie holds an HMAC of the passcode under a secret made fresh in each server process, so it
reveals nothing about the passcode and stops working when the server restarts or the passcode changes.
Wrong passcodes are slowed down across requests (``GuessThrottle``): per client and for the server as a
whole, so neither many connections nor many clients make guessing fast.

In front of it, ``HostGate`` answers only requests addressed to this server by a name it is meant to answer
to (DNS rebinding: a web page whose domain is pointed at 127.0.0.1 sends its own name as ``Host``), and refuses
WebSockets opened by another site's page before Streamlit sees them (Streamlit's own origin check would look up
this computer's public address on the internet to compare it).

Pure ASGI, no Streamlit import: `xface/app/ui.py` and `app.py` plug it in.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import ipaddress
import math
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

COOKIE = "xface_unlock"
UNLOCK_PATH = "/_xface/unlock"
OPEN_PATHS = ("/_stcore/health", "/_stcore/script-health-check")
"""Paths that answer without the passcode: "is the server up", and nothing else."""
MAX_FORM_BYTES = 4096
FIRST_WAIT_S = 1.0
"""After a client's first wrong passcode it waits this long before its next one is checked; each further wrong
one doubles the wait, up to ``LONGEST_WAIT_S``."""
LONGEST_WAIT_S = 300.0
SERVER_WAIT_S = 1.0
"""After any wrong passcode, from anyone, the server checks no other passcode for this long: many clients
together still get at most one guess a second."""
REMEMBERED_CLIENTS = 10_000
"""Clients whose wrong passcodes are remembered (the oldest are forgotten first), so the memory stays bounded."""
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")

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


def passcode_form(next_path: str, wrong: bool = False, wait_s: float = 0.0) -> str:
    """A small page that asks for the passcode; a wrong one, or a wait before the next try, is said in text."""
    if wait_s > 0:
        problem = f'<p id="problem" role="alert">Too many tries. Wait {_duration(wait_s)}, then try again.</p>'
    elif wrong:
        problem = '<p id="problem" role="alert">That passcode is not right.</p>'
    else:
        problem = ""
    described = ' aria-describedby="problem"' if problem else ""
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
<p>Ask the person who runs this Xface for it.</p>
<p>After a wrong passcode, you wait a little longer before each new try.</p></body></html>"""


def _duration(seconds: float) -> str:
    whole = math.ceil(seconds)  # never "wait 1 second" when 1.4 are left
    if whole < 120:
        return f"{whole} second{'s' * (whole != 1)}"
    return f"{round(whole / 60)} minutes"


_URL_WHITESPACE = re.compile(r"[\t\n\r]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_PRINTABLE_ASCII = "".join(map(chr, range(0x21, 0x7F)))


def _safe_next(path: str) -> str:
    """Only a plain path on this server, read the way a browser reads it; anything else is "/".

    Browsers drop tabs and newlines anywhere in a URL, trim spaces and control characters at its ends, and read
    a backslash as a slash, so `/<TAB>/evil`, ` //evil` and `/\\evil` all lead to another site.
    """
    url = _URL_WHITESPACE.sub("", path).strip(_C0_AND_SPACE)
    if "\\" in url or _CONTROL.search(url) or not url.startswith("/") or url.startswith("//"):
        return "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return "/"
    return quote(url, safe=_PRINTABLE_ASCII)  # spaces and other letters as %XX: the Location header is plain ASCII


def host_is_allowed(host: str, arrived_at: str | None, configured: Iterable[str] = ()) -> bool:
    """Whether a ``Host`` header names this server: a localhost name or loopback address, the address the
    request arrived at, or a name the person configured (``server.allowedHosts``: exact, ``*.example.org``, ``*``).

    A DNS-rebinding page sends its own domain name, which is none of these; an address typed by hand is fine,
    because no other site can make a browser send it with its own pages.
    """
    try:
        parts = urlsplit(f"//{host}")
        name, _ = parts.hostname, parts.port  # .port checks that a given port is a number in range
    except ValueError:
        return False
    if not name or parts.username is not None or parts.password is not None or parts.path or parts.query or "#" in host:
        return False
    name = name.rstrip(".")
    if name in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None and (address.is_loopback or _same_address(address, arrived_at)):
        return True
    for pattern in configured:
        pattern = pattern.strip().lower().rstrip(".")
        if pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


def _same_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address, other: str | None) -> bool:
    try:
        arrived = ipaddress.ip_address(other or "")
    except ValueError:
        return False
    mapped = getattr(arrived, "ipv4_mapped", None)  # "::ffff:192.168.1.5" on a dual-stack socket
    return address in (arrived, mapped)


def origin_is_allowed(origin: str | None, host: str, configured: Iterable[str] = ()) -> bool:
    """Whether a WebSocket's ``Origin`` is this server's own page (or an origin the person configured in
    ``server.corsAllowedOrigins``). No Origin: not a browser, so no other site's page."""
    if origin is None:
        return True
    try:
        own_page = urlsplit(origin).netloc.lower() == host.lower() and origin.lower() != "null"
    except ValueError:
        return False
    return own_page or origin.rstrip("/") in {allowed.rstrip("/") for allowed in configured}


class HostGate:
    """ASGI middleware: requests for another host name get 403, WebSockets from another site's page are closed
    before they open (the client sees 403), and neither reaches Streamlit.

    ``allowed_hosts()`` gives the names the person added (``server.allowedHosts``), ``allowed_origins()`` the
    origins (``server.corsAllowedOrigins``); localhost and the address a request arrived at are always fine.
    """

    REFUSAL = (
        b"This Xface answers only at its own address, such as http://localhost:8501. To open it under another "
        b"name, add that name to server.allowedHosts (see docs/privacy.md)."
    )

    def __init__(
        self, app: Callable, allowed_hosts: Callable[[], Iterable[str]], allowed_origins: Callable[[], Iterable[str]]
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.allowed_origins = allowed_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers", [])}
        host = headers.get("host", "")
        arrived_at = (scope.get("server") or (None, None))[0]
        allowed = host_is_allowed(host, arrived_at, self.allowed_hosts())
        if allowed and scope["type"] == "websocket":
            allowed = origin_is_allowed(headers.get("origin"), host, self.allowed_origins())
        if allowed:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accepting: the client gets 403
        else:
            await _respond(send, 403, self.REFUSAL, "text/plain")


class GuessThrottle:
    """When the next passcode may be checked: slower after each wrong one, per client and for everyone together.

    A client's first wrong passcode makes it wait ``FIRST_WAIT_S`` before its next is checked, each further one
    twice as long (up to ``LONGEST_WAIT_S``); any wrong passcode makes every client wait ``SERVER_WAIT_S``. A
    passcode sent while waiting is not checked at all. So 200 guesses take hours from one client, and at least
    200 s from any number of them, however many are sent at once. The right passcode forgets the client's tries.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._clients: OrderedDict[str, tuple[int, float]] = OrderedDict()  # client: (wrong tries, free again at)
        self._server_free_at = 0.0

    def wait_s(self, client: str) -> float:
        """Seconds until a passcode from this client may be checked (0: now)."""
        now = self.clock()
        free_at = max(self._server_free_at, self._clients.get(client, (0, 0.0))[1])
        return max(0.0, free_at - now)

    def wrong(self, client: str) -> None:
        now = self.clock()
        tries = self._clients.pop(client, (0, 0.0))[0] + 1
        self._clients[client] = (tries, now + min(LONGEST_WAIT_S, FIRST_WAIT_S * 2 ** (tries - 1)))
        while len(self._clients) > REMEMBERED_CLIENTS:
            self._clients.popitem(last=False)
        self._server_free_at = now + SERVER_WAIT_S

    def right(self, client: str) -> None:
        self._clients.pop(client, None)


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
        self.throttle = GuessThrottle()

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
            await self._unlock(scope, receive, send, expected)
        elif scope.get("method") in ("GET", "HEAD") and not self._locked_endpoint(path):
            query = scope.get("query_string", b"").decode("latin-1")
            await _respond(send, 401, passcode_form(path + (f"?{query}" if query else "")).encode(), "text/html")
        else:
            await _respond(send, 403, b"Locked: give the passcode first.", "text/plain")

    def _locked_endpoint(self, path: str) -> bool:
        return any(endpoint in path + "/" for endpoint in self.LOCKED_ENDPOINTS)

    async def _unlock(self, scope: Scope, receive: Receive, send: Send, expected: str) -> None:
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
        client = (scope.get("client") or ("unknown", 0))[0]
        wait_s = self.throttle.wait_s(client)
        if wait_s > 0:  # not checked at all: a guess sent too early tells nothing
            form = passcode_form(next_path, wait_s=wait_s).encode()
            await _respond(send, 429, form, "text/html", [(b"retry-after", str(math.ceil(wait_s)).encode())])
            return
        if hmac.compare_digest(given.encode(), expected.encode()):
            self.throttle.right(client)
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
            self.throttle.wrong(client)
            await _respond(send, 401, passcode_form(next_path, wrong=True).encode(), "text/html")


async def _respond(
    send: Send, status: int, body: bytes, content_type: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", f"{content_type}; charset=utf-8".encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
