"""Real-browser fixtures: `streamlit run app.py` on a free port, Debian's Chromium via Playwright.

Chromium gets a fake webcam fed from a .y4m video built from a real photo, so the live page
sees a real face through the real WebRTC path.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

ROOT = Path(__file__).resolve().parents[2]
FACES = ROOT.parent / "shared" / "data" / "faces" / "with_faces"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.slow
START_TIMEOUT_S = 300
"""Generous: on a small machine busy with training, importing torch alone can take a minute."""


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test item (`item.rep_call`), so fixtures can save evidence on failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def face_frame(size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A webcam-like frame: the largest labelled face in the real photos, centred and enlarged."""
    rows = list(csv.DictReader((FACES / "boxes.csv").open()))
    row = max(rows, key=lambda r: (float(r["xmax"]) - float(r["xmin"])) * (float(r["ymax"]) - float(r["ymin"])))
    photo = Image.open(FACES / row["image"]).convert("RGB")
    x1, y1, x2, y2 = (float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
    side = max(x2 - x1, y2 - y1) * 2.2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    crop = photo.crop((int(cx - side / 2), int(cy - side / 2), int(cx + side / 2), int(cy + side / 2)))
    frame = Image.new("RGB", size, (90, 90, 90))
    face = crop.resize((size[1] - 40, size[1] - 40), Image.Resampling.BICUBIC)
    frame.paste(face, ((size[0] - face.width) // 2, 20))
    return frame


def write_y4m(frame: Image.Image, path: Path, frames: int = 30, fps: int = 15) -> Path:
    """A 4:2:0 YUV4MPEG2 file (Chromium's fake-capture format) repeating one frame."""
    ycbcr = np.asarray(frame.convert("YCbCr"))
    y = ycbcr[..., 0].tobytes()
    chroma = [
        np.asarray(Image.fromarray(ycbcr[..., c]).resize((frame.width // 2, frame.height // 2))).tobytes()
        for c in (1, 2)
    ]
    with path.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W{frame.width} H{frame.height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            handle.write(b"FRAME\n" + y + chroma[0] + chroma[1])
    return path


class StreamlitServer:
    def __init__(self, db_path: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.db_path = db_path
        self.log = db_path.parent / "streamlit.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-X",
                "faulthandler",
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(self.port),
                "--server.headless",
                "true",
            ],
            cwd=ROOT,
            env={**os.environ, "XFACE_DB": str(db_path), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._ready = threading.Event()
        self._copier = threading.Thread(target=self._copy_log, daemon=True)
        self._copier.start()
        # The server says when it listens; no polling. The wait's limit only keeps a broken start from hanging CI.
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError(f"streamlit did not start in {START_TIMEOUT_S} s")
        if self.process.poll() is not None:
            self._copier.join()
            raise RuntimeError(f"streamlit exited: {self.log.read_text()[-2000:]}")
        with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=60) as response:
            assert response.status == 200

    def _copy_log(self) -> None:
        """Everything the server prints goes to its log; the line that says it listens sets `_ready`."""
        with self.log.open("w") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                if "You can now view your Streamlit app" in line:
                    self._ready.set()
        self._ready.set()  # the server ended before it listened

    def stacks(self) -> str:
        """Abort the server and return its log's end, which then holds every thread's Python stack
        (it runs under `-X faulthandler`): tells a stuck thread from a slow machine."""
        self.process.send_signal(signal.SIGABRT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._copier.join()
        return self.log.read_text()[-12000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._copier.join()


@pytest.fixture
def streamlit_server(tmp_path: Path) -> Iterator[StreamlitServer]:
    server = StreamlitServer(tmp_path / "journal.db")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_webcam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_y4m(face_frame(), tmp_path_factory.mktemp("webcam") / "face.y4m")


@contextlib.contextmanager
def chromium_page(webcam: Path, width: int = 1280, height: int = 1000) -> Iterator:
    """A Playwright page in headless Debian Chromium with `webcam` (.y4m) as its camera; never downloads a browser."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: install it with `apt-get install chromium` (tests/run.sh does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={webcam}",
            ],
        )
        context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.fixture
def browser_page(fake_webcam: Path):
    """A page in the real browser, the fake webcam showing a face."""
    with chromium_page(fake_webcam) as page:
        yield page


@pytest.fixture
def evidence(streamlit_server: StreamlitServer, browser_page, request: pytest.FixtureRequest):
    """On failure: a full-page screenshot (/tmp/<page>_failed.png, named after the test module) and the server's
    log with its thread stacks (a slow machine or a bug?)."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").removesuffix("_browser")
        path = f"/tmp/{name}_failed.png"
        browser_page.screenshot(path=path, full_page=True)
        try:  # what a person could read, the part scrolled out of the screenshot and any error box included
            text = browser_page.get_by_role("main").aria_snapshot(timeout=10_000)
        except PlaywrightError as error:
            text = f"(no page text: {error})"
        print(f"\nscreenshot: {path}\npage text:\n{text}\nserver log and stacks:\n" + streamlit_server.stacks())


def start_camera(
    page, ready=None, tries: int = 3, wait_s: float = 30.0, ready_s: float = 300.0, settle_s: float = 3.0
) -> None:
    """Press Start camera, and press it again, as a person would, if the video does not keep coming.

    Now and then (a few runs in a hundred here) the WebRTC session that streamlit-webrtc opens ends
    again, before its first frame or just after it, and the Start button comes back; a second press then
    works. `ready` is what the page shows once readings arrive (a locator): the camera counts as started
    when it is visible (within `ready_s` of the first frame: the first reading loads the model). Without it,
    when the video has played for `settle_s` seconds with the Start button gone."""
    camera = page.frame_locator('iframe[title*="streamlit_webrtc"]')
    video = camera.locator("video")
    start = camera.get_by_role("button", name="Start camera")
    for attempt in range(tries):
        if attempt == 0:
            start.click()  # the first press waits for the button to be drawn
        elif start.is_visible():
            start.click()
        deadline = time.monotonic() + wait_s
        playing_since = None
        while time.monotonic() < deadline:
            if playing_since is not None and start.is_visible():
                break  # the session ended after its first frames: press again
            if playing_since is None and video.count():
                if video.first.evaluate("v => v.readyState >= 2 && v.currentTime > 0"):
                    playing_since = time.monotonic()  # frames are coming back from the server
                    deadline = playing_since + (ready_s if ready is not None else settle_s + 1)
            if playing_since is not None:
                if ready is not None and ready.first.is_visible():
                    return
                if ready is None and time.monotonic() - playing_since >= settle_s:
                    return
            page.wait_for_timeout(250)
    raise AssertionError(f"the camera's readings did not start after {tries} presses of Start camera")


def drawn_now(page: Page) -> Locator:
    """The elements of the page's latest drawing. While part of the page redraws, Streamlit keeps the elements it
    has not yet redrawn, marked stale; a button whose key names what it was drawn for (`ui.drawn_key`) can then
    show twice for a moment: the old one, stale, and the new one."""
    return page.locator('[data-testid="stElementContainer"][data-stale="false"]')


def press_until(button, done, before=None, presses: int = 3, wait_s: float = 30.0) -> None:
    """Press `button` and wait for `done` (a locator) to show; if it does not, press again, as a person would.

    A button inside a part of the page that redraws itself twice a second (the live cards, the mirror coach)
    now and then loses a press in Streamlit under load: the page stays as it was. A second press then works.
    `wait_s` is far longer than a press takes to show here (about a second), so a slow press is rarely repeated;
    a button that stays on the page and moves on (Skip, Next) passes `before`, what the page showed before the
    press, and is pressed again only while that still shows.
    """
    for _ in range(presses):
        button.click()
        try:
            done.first.wait_for(timeout=wait_s * 1000)
            return
        except PlaywrightTimeoutError:
            if not button.is_visible() or not button.is_enabled():
                break  # the press was taken after all, only slowly: pressing again would do something else
            if before is not None and not before.first.is_visible():
                break  # the page moved on: a second press would act on what shows now
    done.first.wait_for()
