"""The gate's rules, one by one: which hosts and origins are answered, where an unlock may lead, how guessing slows.

The same rules are exercised end to end on a real server in test_server_gate.py, tests/test_privacy.py and the
browser test tests/e2e/test_gate_browser.py.
"""

from __future__ import annotations

import pytest

from xface.app.gate import (
    FIRST_WAIT_S,
    LONGEST_WAIT_S,
    SERVER_WAIT_S,
    GuessThrottle,
    _safe_next,
    host_is_allowed,
    origin_is_allowed,
    passcode_form,
)


@pytest.mark.parametrize(
    "given",
    [
        "/\t/elsewhere.example",
        "/\n/elsewhere.example",
        "/\r\n/elsewhere.example",
        "\t//elsewhere.example",
        " //elsewhere.example",
        "\x00//elsewhere.example",
        "//elsewhere.example",
        "/\\elsewhere.example",
        "\\\\elsewhere.example",
        "https://elsewhere.example/",
        "javascript:alert(1)",
        "elsewhere.example",
        "/\x7f",
        "",
    ],
)
def test_an_unlock_never_leads_to_another_site(given: str) -> None:
    assert _safe_next(given) == "/"


def test_an_unlock_path_is_read_as_a_browser_reads_it() -> None:
    assert _safe_next("/jour\tnal") == "/journal"
    assert _safe_next("/journal\r\nSet-Cookie: x=1") == "/journalSet-Cookie:%20x=1"  # no header of its own
    assert _safe_next("/\uff0f\uff0felsewhere.example") == "/%EF%BC%8F%EF%BC%8Felsewhere.example"  # a path here


@pytest.mark.parametrize("given", ["/", "/journal", "/journal?a=1&b=2", "/live_practice#top", "/%2F%2Fx", "/a//b"])
def test_an_unlock_leads_back_to_the_page_asked_for(given: str) -> None:
    assert _safe_next(given) == given


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:8501", "LOCALHOST.", "127.0.0.1:8501", "127.3.4.5", "[::1]:8501", "192.168.1.5:8501"],
)
def test_localhost_and_the_address_a_request_arrived_at_are_answered(host: str) -> None:
    assert host_is_allowed(host, arrived_at="::ffff:192.168.1.5")


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example",
        "localhost.attacker.example",
        "attacker.example:8501",
        "192.168.1.6:8501",
        "10.0.0.1",
        "",
        "localhost:notaport",
        "user@localhost",
        "localhost/path",
        "localhost#x",
        "localhost:8501@attacker.example",
        "attacker.example#.localhost",
        "[::1",
    ],
)
def test_other_hosts_are_refused(host: str) -> None:
    assert not host_is_allowed(host, arrived_at="192.168.1.5")


def test_the_names_the_person_lists_are_answered() -> None:
    listed = ["xface.home", "*.lan"]
    assert host_is_allowed("xface.home:8501", None, listed) and host_is_allowed("box.lan", None, listed)
    assert not host_is_allowed("lan", None, listed) and not host_is_allowed("xface.home.example", None, listed)
    assert host_is_allowed("anything.example", None, ["*"])


def test_only_the_servers_own_pages_open_its_websocket() -> None:
    assert origin_is_allowed("http://localhost:8501", "localhost:8501")
    assert origin_is_allowed(None, "localhost:8501")  # not a browser
    for origin in ("http://attacker.example", "http://localhost:8502", "null", "http://localhost:8501.example"):
        assert not origin_is_allowed(origin, "localhost:8501"), origin
    assert origin_is_allowed("https://tools.example", "localhost:8501", ["https://tools.example/"])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_each_wrong_passcode_doubles_the_clients_wait() -> None:
    clock = Clock()
    throttle = GuessThrottle(clock)
    assert throttle.wait_s("a") == 0
    waits = []
    for _ in range(12):
        throttle.wrong("a")
        waits.append(throttle.wait_s("a"))
        clock.now += waits[-1]
        assert throttle.wait_s("a") == 0
    assert waits[:4] == [FIRST_WAIT_S, 2 * FIRST_WAIT_S, 4 * FIRST_WAIT_S, 8 * FIRST_WAIT_S]
    assert waits[-1] == LONGEST_WAIT_S
    throttle.right("a")
    clock.now += SERVER_WAIT_S
    assert throttle.wait_s("a") == 0
    throttle.wrong("a")
    assert throttle.wait_s("a") == FIRST_WAIT_S  # the right passcode forgot the earlier tries


def test_a_wrong_passcode_from_anyone_makes_everyone_wait() -> None:
    clock = Clock()
    throttle = GuessThrottle(clock)
    throttle.wrong("a")
    assert throttle.wait_s("b") == SERVER_WAIT_S
    for client in (f"client {n}" for n in range(200)):  # 200 clients, one guess each, as fast as allowed
        clock.now += throttle.wait_s(client)
        throttle.wrong(client)
    assert clock.now - 1000.0 >= 200 * SERVER_WAIT_S


def test_the_form_says_that_guessing_is_slowed_down() -> None:
    assert "wait a little longer before each new try" in passcode_form("/")
    page = passcode_form("/journal", wait_s=2.2)
    assert "Too many tries. Wait 3 seconds, then try again." in page and 'role="alert"' in page
    assert "Wait 5 minutes" in passcode_form("/", wait_s=300)
