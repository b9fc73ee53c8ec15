"""A real browser through the passcode form: after the right passcode it stays on this server, whatever `next` says.

`next` comes from the form, so another site can post any value. A tab inside `/<TAB>/host` is dropped by the
browser, which would then read `//host` as another site. Here that other site is this same server under the
name 127.0.0.1 (another origin than localhost), so the test needs no network to see where the browser went.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import StreamlitServer

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("next_path", ["/\t/127.0.0.1:{port}/help", "/\\127.0.0.1:{port}/help", " //127.0.0.1:{port}/"])
def test_the_unlock_never_sends_the_browser_to_another_origin(browser_page, tmp_path: Path, next_path: str) -> None:
    server = StreamlitServer(
        tmp_path / "journal.db", env={"XFACE_PASSCODE": "quiet river", "STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}
    )
    try:
        page = browser_page
        page.goto(f"{server.url}/journal")
        page.locator('input[name="next"]').evaluate(
            "(field, value) => field.value = value", next_path.format(port=server.port)
        )
        page.get_by_label("Passcode").fill("quiet river")
        page.get_by_role("button", name="Open Xface").click()
        page.wait_for_load_state()
        landed = urlsplit(page.url)
        assert (landed.hostname, landed.port) == ("localhost", server.port), page.url
        assert landed.path == "/"
    finally:
        server.stop()
