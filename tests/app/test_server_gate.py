"""The real server (`streamlit run app.py`) answers only to its own names and to its own pages, and looks nothing up.

DNS rebinding: a web page whose domain is pointed at 127.0.0.1 makes the browser send that domain as `Host`
(and as `Origin`); the server must refuse it on HTTP and on the WebSocket that carries the journal. A
WebSocket from another site's page must be refused without Streamlit's origin check, which looks up this
computer's public address at checkip.amazonaws.com. Every name the server process looks up is recorded by a
`sitecustomize` module on its path, so the test sees a lookup even when the network is unreachable.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import StreamlitServer
from xface.app.gate import FIRST_WAIT_S

RECORD_LOOKUPS = """
import os, socket
_real_getaddrinfo = socket.getaddrinfo
def _recorded_getaddrinfo(host, *args, **kwargs):
    with open(os.environ["XFACE_TEST_LOOKUPS"], "a") as log:
        log.write(f"{host!r}\\n")
    return _real_getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = _recorded_getaddrinfo
"""
LOCAL_LOOKUPS = {"'localhost'", "'127.0.0.1'", "'0.0.0.0'", "'::1'", "'::'", "None", "''"}


class Served:
    def __init__(self, server: StreamlitServer, lookups: Path) -> None:
        self.server, self.port, self.lookups = server, server.port, lookups

    def http_status(self, host: str, path: str = "/") -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("GET", path, headers={"Host": host})
            return connection.getresponse().status
        finally:
            connection.close()

    def websocket_status(self, host: str, origin: str | None) -> int:
        """The status a WebSocket handshake to the app's stream gets: 101 opens it, 4xx refuses it."""
        lines = [
            "GET /_stcore/stream HTTP/1.1",
            f"Host: {host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Protocol: streamlit",
        ] + ([f"Origin: {origin}"] if origin else [])
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            return int(sock.makefile("rb").readline().split()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Served on every interface (headless, so Streamlit would print an "External URL"), no passcode set,
    with one extra name configured through Streamlit's own setting, given as an environment variable."""
    folder = tmp_path_factory.mktemp("served")
    (folder / "site").mkdir()
    (folder / "site" / "sitecustomize.py").write_text(RECORD_LOOKUPS)
    lookups = folder / "lookups.txt"
    env = {
        "PYTHONPATH": f"{folder / 'site'}:{ROOT}",
        "XFACE_TEST_LOOKUPS": str(lookups),
        "STREAMLIT_SERVER_ADDRESS": "0.0.0.0",
        "STREAMLIT_SERVER_ALLOWED_HOSTS": "xface.home",
        "XFACE_PASSCODE": "",
    }
    server = StreamlitServer(folder / "journal.db", env=env)
    yield Served(server, lookups)
    server.stop()


def test_a_forged_host_is_refused_on_http_and_on_the_websocket(served: Served) -> None:
    port = served.port
    for forged in ("attacker.example", f"attacker.example:{port}", f"localhost.attacker.example:{port}", "", "a b"):
        assert served.http_status(forged) == 403, forged
        assert served.http_status(forged, "/_stcore/health") == 403, forged
        assert served.websocket_status(forged, origin=f"http://{forged}") == 403, forged
    assert served.websocket_status(f"attacker.example:{port}", origin=None) == 403


def test_localhost_names_and_configured_names_are_answered(served: Served) -> None:
    port = served.port
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost", f"xface.home:{port}", "XFACE.home."):
        assert served.http_status(host) == 200, host
        assert served.websocket_status(host, origin=f"http://{host}") == 101, host


def test_a_websocket_from_another_site_is_refused_and_nothing_is_looked_up(served: Served) -> None:
    port = served.port
    for origin in ("http://attacker.example", f"http://localhost:{port + 1}", "null", f"https://localhost:{port}x"):
        assert served.websocket_status(f"localhost:{port}", origin=origin) == 403, origin
    looked_up = set(served.lookups.read_text().split()) if served.lookups.exists() else set()
    assert looked_up <= LOCAL_LOOKUPS, looked_up


def test_many_guesses_at_once_are_checked_no_faster_than_one_wait_after_another(tmp_path: Path) -> None:
    """200 wrong passcodes sent together over 50 connections: each one checked is answered 401, every other one
    429 with the wait, unchecked. However fast the machine, the checked ones can't outrun the doubling waits."""
    server = StreamlitServer(
        tmp_path / "journal.db", env={"XFACE_PASSCODE": "quiet river", "STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}
    )

    def guess(number: int) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        try:
            body = f"passcode=guess{number}&next=/".encode()
            connection.request("POST", "/_xface/unlock", body, {"Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    try:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(guess, range(200)))
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    checked = [page for status, page in answers if status == 401]
    waited = [page for status, page in answers if status == 429]
    assert len(checked) + len(waited) == 200
    assert checked and all("That passcode is not right." in page for page in checked)
    assert all("Too many tries. Wait" in page for page in waited)
    assert elapsed >= FIRST_WAIT_S * (2 ** (len(checked) - 1) - 1)  # guess n came after the n-1 waits before it


def test_as_shipped_a_forged_host_gets_nothing(tmp_path: Path) -> None:
    """The default settings (localhost, server.allowedHosts unset), where the rebinding probe got a check-in."""
    server = Served(StreamlitServer(tmp_path / "journal.db"), tmp_path / "no lookups recorded")
    try:
        forged = f"attacker.example:{server.port}"
        assert server.http_status(forged) == 403
        assert server.http_status(forged, "/media/anything") == 403
        assert server.websocket_status(forged, origin=f"http://{forged}") == 403
        assert server.websocket_status(f"localhost:{server.port}", origin=f"http://localhost:{server.port}") == 101
    finally:
        server.server.stop()
