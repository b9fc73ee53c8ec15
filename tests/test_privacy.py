"""Privacy: no pixels are written anywhere, the server stays local, journal data sits behind a passcode.

The live session and the quiz round go through the same code the pages use (LiveSession,
quiz_batch, score, Journal) with the real model and a real SQLite file in a private data folder.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from xface.app.live import LiveSession
from xface.app.uploads import quiz_batch
from xface.journal.store import Journal
from xface.teach.quiz import score

IMAGE_SIGNATURES = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF8": "GIF",
    b"RIFF": "WebP",
    b"BM": None,  # too short to scan for on its own; covered by the raw-pixel check below
}


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _frame_fragments(frames: list[np.ndarray]) -> list[bytes]:
    """Raw pixel runs from the middle of each frame: found in a file only if pixels were stored."""
    return [frame[200:204, 250:300].tobytes() for frame in frames]


def test_recorded_live_session_and_quiz_round_store_no_image_data(
    analyzer, portrait: np.ndarray, group_photo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "xface-data"
    monkeypatch.setenv("XFACE_DB", str(data_dir / "journal.db"))
    home = tmp_path / "home"  # anything written to the per-user folders instead would land here
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    journal = Journal()
    frames = [np.ascontiguousarray(np.roll(portrait, 3 * i, axis=1)) for i in range(8)]
    clock = iter(np.arange(0, 100, 0.5))  # half a second between frames
    live = LiveSession(analyzer, background=False, clock=lambda: float(next(clock)))
    session_id = live.start_recording(journal)
    for frame in frames:
        live.process(frame)
    live.stop_recording()
    assert len(journal.observations(session_id)) >= 3

    photo_bytes = group_photo.read_bytes()
    batch = quiz_batch([("happy/friends.jpg", photo_bytes)], analyzer)
    quiz_session = journal.start_session("quiz")
    for question in batch.questions:
        feedback = score(question, "happy")
        journal.add_quiz_answer(quiz_session, **feedback.journal_fields())
    journal.end_session(quiz_session)
    journal.close()
    assert len(batch.questions) == 7

    files = _files(data_dir)
    assert files, "the journal should have written its file"
    assert not _files(tmp_path / "home"), "nothing is written outside the journal's folder"
    fragments = _frame_fragments(frames) + [photo_bytes[1000:1064]]
    for path in files:
        content = path.read_bytes()
        for signature, kind in IMAGE_SIGNATURES.items():
            if kind:
                assert signature not in content, f"{kind} data in {path.name}"
        for fragment in fragments:
            assert fragment not in content, f"raw pixels in {path.name}"
    with sqlite3.connect(data_dir / "journal.db") as connection:
        tables = [row[0] for row in connection.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            columns = connection.execute(f"pragma table_info({table})").fetchall()
            assert all(column[2].upper() != "BLOB" for column in columns), table
            for column in columns:
                kinds = connection.execute(f"select distinct typeof({column[1]}) from {table}").fetchall()
                assert ("blob",) not in kinds, f"{table}.{column[1]}"


def test_server_defaults_keep_the_app_local_and_private() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"
    assert config["server"]["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False
    assert 1 <= config["server"]["maxUploadSize"] <= 50


@pytest.fixture
def served_on_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The app as it runs when served beyond localhost (server.address 0.0.0.0)."""
    from streamlit import config

    monkeypatch.setenv("XFACE_DB", str(tmp_path / "journal.db"))
    monkeypatch.delenv("XFACE_PASSCODE", raising=False)
    journal = Journal()
    journal.add_checkin("lonely", "sad", 3, note="private words")
    journal.close()
    previous = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    yield
    config.set_option("server.address", previous)


def _page_text(app: AppTest) -> str:
    parts = [str(getattr(element, "value", "")) for element in app.main]
    parts += [str(getattr(element, "body", "")) for element in app.main]
    return " ".join(parts)


def test_on_a_network_without_a_passcode_no_page_is_shown(served_on_network) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.switch_page("pages/journal.py").run()
    assert not app.exception
    assert "no passcode is set" in " ".join(e.value for e in app.error)
    assert "private words" not in _page_text(app)
    assert len(app.text_input) == 0


def test_on_a_network_the_passcode_unlocks_the_journal(served_on_network, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XFACE_PASSCODE", "open sesame")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.switch_page("pages/journal.py").run()
    assert "private words" not in _page_text(app)
    app.text_input[0].input("wrong").run()
    assert "not right" in " ".join(e.value for e in app.error)
    assert "private words" not in _page_text(app)
    app.text_input[0].input("open sesame").run()
    assert not app.exception
    assert not any("passcode" in e.value for e in app.error)
    assert "Journal" in " ".join(t.value for t in app.title)


def test_on_localhost_no_passcode_is_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XFACE_DB", str(tmp_path / "journal.db"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.switch_page("pages/help.py").run()
    assert not app.exception
    assert not any(t.label == "Passcode" for t in app.text_input)


def test_on_a_network_a_passcode_from_streamlit_secrets_unlocks_the_journal(served_on_network) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.secrets["passcode"] = "from secrets"
    app.switch_page("pages/journal.py").run()
    assert "private words" not in _page_text(app)
    app.text_input[0].input("from secrets").run()
    assert not app.exception
    assert "Journal" in " ".join(t.value for t in app.title)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _request(url: str, data: bytes | None = None, cookie: str | None = None) -> tuple[int, dict, str]:
    """Status, headers and text a plain HTTP client gets (redirects not followed)."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=data, headers={"Cookie": cookie} if cookie else {})
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_the_server_gate_asks_for_the_passcode_before_anything_else(tmp_path: Path) -> None:
    """A real `streamlit run app.py` on the network with a passcode, asked by a plain HTTP client."""
    from tests.e2e.conftest import StreamlitServer

    server = StreamlitServer(
        tmp_path / "journal.db", env={"XFACE_PASSCODE": "quiet river", "STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}
    )
    try:
        status, _, page = _request(f"{server.url}/journal")
        assert status == 401 and 'type="password"' in page and "private" not in page
        assert _request(f"{server.url}/_stcore/metrics")[0] == 403
        assert _request(f"{server.url}/_stcore/health")[0] == 200

        status, headers, page = _request(f"{server.url}/_xface/unlock", b"passcode=wrong&next=/journal")
        assert (
            status == 401
            and "That passcode is not right." in page
            and "set-cookie" not in {key.lower() for key in headers}
        )
        status, headers, page = _request(f"{server.url}/_xface/unlock", b"passcode=quiet+river&next=/journal")
        assert status == 429 and "Too many tries" in page and "set-cookie" not in {key.lower() for key in headers}
        # As a person would: the right passcode after the wait works.
        time.sleep(int({key.lower(): value for key, value in headers.items()}["retry-after"]))
        status, headers, _ = _request(f"{server.url}/_xface/unlock", b"passcode=quiet+river&next=//elsewhere.example")
        assert status == 303 and headers["location"] == "/"  # never sent on to another site
        cookie = headers["set-cookie"].split(";")[0]
        assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
        assert "quiet" not in cookie
        assert _request(f"{server.url}/_stcore/metrics", cookie=cookie)[0] == 200
        altered = cookie[:-1] + ("1" if cookie.endswith("0") else "0")
        assert _request(f"{server.url}/_stcore/metrics", cookie=altered)[0] == 403
    finally:
        server.stop()


def test_the_passcode_form_reads_easily_and_says_a_wrong_passcode_in_text() -> None:
    import re

    import textstat

    from xface.app.gate import passcode_form

    page = passcode_form("/journal", wrong=True)
    sentences = re.findall(r"<p[^>]*>([^<]+)</p>", page)
    assert "That passcode is not right." in sentences and len(sentences) == 4
    assert 'role="alert"' in page and 'aria-describedby="problem"' in page and '<label for="passcode">' in page
    for sentence in sentences:
        assert textstat.flesch_reading_ease(sentence) >= 70, sentence
    assert 'value="/journal?a=1&amp;b=&quot;x&quot;"' in passcode_form('/journal?a=1&b="x"')  # never breaks out


def test_a_passcode_written_as_a_toml_number_unlocks_as_its_digits(served_on_network) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.secrets["passcode"] = 1234  # `passcode = 1234` in secrets.toml, without quotes
    app.switch_page("pages/journal.py").run()
    app.text_input[0].input("1234").run()
    assert not app.exception
    assert "Journal" in " ".join(t.value for t in app.title)


def test_a_passcode_that_is_not_text_stops_the_server_with_a_sentence(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("passcode = true\n")
    done = subprocess.run(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", "0"],
        cwd=ROOT,
        env={**os.environ, "STREAMLIT_SECRETS_FILES": str(secrets), "XFACE_DB": str(tmp_path / "journal.db")},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "must be text in quotes" in done.stdout + done.stderr


def test_the_app_loads_its_models_without_onnx_runtime_telemetry(tmp_path: Path) -> None:
    """The live page, run by Streamlit's AppTest in a fresh interpreter and HOME that never set
    ORT_DISABLE_TELEMETRY: the analyzer loads, and ONNX Runtime writes no device id (it would at import)."""
    home = tmp_path / "home"
    home.mkdir()
    script = """
import os, sys
from streamlit.testing.v1 import AppTest
app = AppTest.from_file("app.py", default_timeout=600)
app.switch_page("pages/live_practice.py").run()
print(os.environ.get("ORT_DISABLE_TELEMETRY"), "onnxruntime" in sys.modules)  # (the camera needs a browser)
"""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ORT_", "XDG_"))}
    env |= {"HOME": str(home), "PYTHONPATH": str(ROOT), "XFACE_DB": str(tmp_path / "journal.db")}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-2:] == ["1", "True"], done.stdout[-2000:]
    written = [str(path.relative_to(home)) for path in home.rglob("*")]
    assert not [name for name in written if "Microsoft" in name], written
