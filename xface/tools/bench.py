"""`xface bench`: speed and memory of the live path, on frames built from real photos.

Deterministic: every sequence is a 640×480 window moving smoothly over a canvas made from the
photos in `faces/with_faces` (one face, four faces) or `faces/no_faces`, so tracking between
detections is exercised. Each sequence is JPEG-encoded once; per frame we time decode →
detect/follow → align → classify → draw, after a warm-up, over several repeats, and report medians.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

FRAME_SIZE = (640, 480)


def _rss_mb() -> float:
    """Current resident memory of this process, in MB (Linux /proc; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def _face_crops(faces_dir: Path, count: int) -> list[Image.Image]:
    """The `count` largest labelled faces, each cropped with context around it."""
    rows = list(csv.DictReader((faces_dir / "with_faces" / "boxes.csv").open()))
    rows.sort(key=lambda r: float(r["xmax"]) - float(r["xmin"]), reverse=True)
    crops = []
    for row in rows[:count]:
        photo = Image.open(faces_dir / "with_faces" / row["image"]).convert("RGB")
        x1, y1, x2, y2 = (float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
        side = (x2 - x1) * 1.6
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        crops.append(photo.crop((int(cx - side / 2), int(cy - side / 2), int(cx + side / 2), int(cy + side / 2))))
    return crops


def _window(canvas: Image.Image, index: int) -> bytes:
    """Frame `index` as JPEG: a window sliding over the canvas (±60 px across, ±40 px down, every 90 frames)."""
    spare_x, spare_y = canvas.width - FRAME_SIZE[0], canvas.height - FRAME_SIZE[1]
    phase = 2 * np.pi * index / 90
    left = int(spare_x / 2 * (1 + np.sin(phase)))
    top = int(spare_y / 2 * (1 + np.sin(phase / 2)))
    buffer = io.BytesIO()
    canvas.crop((left, top, left + FRAME_SIZE[0], top + FRAME_SIZE[1])).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def frame_sequence(canvas: Image.Image, frames: int) -> list[bytes]:
    """JPEG frames of a window sliding over the canvas."""
    return [_window(canvas, i) for i in range(frames)]


def _squeezed(crop: Image.Image, side: int, width_share: float) -> Image.Image:
    """The face crop at `side` px, narrowed to `width_share` of its width (a head turning away), on grey."""
    canvas = Image.new("RGB", (side, side), (90, 90, 90))
    width = max(1, round(side * width_share))
    canvas.paste(crop.resize((width, side), Image.Resampling.BICUBIC), ((side - width) // 2, 0))
    return canvas


SEQUENCES = ("one face", "small face", "four faces", "no face", "turning away")
"""What `xface bench` runs: 640×480 windows moving over a plain background with one face of about 190 px
(the live page's usual case), one of about 60 px, four of about 120 px, none (a photo of dogs), and one
face turning away (narrowed to a fifth of its width, then back) so that following loses and finds it."""


def sequence_frames(faces_dir: Path, name: str, frames: int) -> list[bytes]:
    """JPEG frames of the named sequence (see `SEQUENCES`)."""
    width, height = FRAME_SIZE[0] + 120, FRAME_SIZE[1] + 80
    grey = Image.new("RGB", (width, height), (90, 90, 90))
    if name == "no face":
        dogs = Image.open(faces_dir / "no_faces" / "dlib_dogs.jpg").convert("RGB").resize((width, height))
        return frame_sequence(dogs, frames)
    if name == "four faces":
        for index, crop in enumerate(_face_crops(faces_dir, 4)):
            grey.paste(
                crop.resize((190, 190), Image.Resampling.BICUBIC), (110 + 300 * (index % 2), 60 + 250 * (index // 2))
            )
        return frame_sequence(grey, frames)
    crop = _face_crops(faces_dir, 1)[0]
    if name in ("one face", "small face"):
        side = 300 if name == "one face" else 100
        grey.paste(crop.resize((side, side), Image.Resampling.BICUBIC), ((width - side) // 2, (height - side) // 2))
        return frame_sequence(grey, frames)
    if name == "turning away":
        turned = []
        for i in range(frames):
            share = 0.2 + 0.8 * abs(np.cos(np.pi * i / 60))  # full face → a fifth of its width → full, every 60 frames
            canvas = grey.copy()
            canvas.paste(_squeezed(crop, 300, share), ((width - 300) // 2, (height - 300) // 2))
            turned.append(_window(canvas, i))
        return turned
    raise ValueError(f"no bench sequence called {name!r}; there are {', '.join(SEQUENCES)}")


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 2),
    }


STAGES = ("decode", "detect", "align", "classify", "cues", "page", "frame_to_label")
"""Per frame: JPEG decode; finding the faces (a full detection or following); the aligned crops; the
expression model; the face mesh and its cues; the live page's own share (words for each face, drawing,
bookkeeping); and all of it, frame in → labelled frame out."""


def run_sequence(analyzer, frames: list[bytes], repeats: int, warmup: int = 10) -> dict:
    """Push the frames through the live page's engine (`LiveSession`, analysing every frame) and time each stage."""
    from xface.app.live import LiveSession

    stages: dict[str, list[float]] = {k: [] for k in STAGES}
    full_detect, follow = [], []
    cues_per_face = []
    fps_runs, faces_seen = [], []
    for _ in range(repeats):
        session = LiveSession(analyzer, background=False)
        for data in frames[:warmup]:
            session.process(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
        session = LiveSession(analyzer, background=False)
        began = time.perf_counter()
        for data in frames:
            start = time.perf_counter()
            pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            decoded = time.perf_counter()
            session.process(pixels)
            done = time.perf_counter()
            stream = session._stream
            timings = stream.last_timings
            stages["decode"].append(decoded - start)
            for key in ("detect", "align", "classify", "cues"):
                stages[key].append(timings[key])
            stages["page"].append(done - decoded - sum(timings[k] for k in ("detect", "align", "classify", "cues")))
            stages["frame_to_label"].append(done - start)
            (full_detect if stream.full_detection else follow).append(timings["detect"])
            faces_seen.append(len(stream.tracks))
            if stream.tracks:
                cues_per_face.append(timings["cues"] / len(stream.tracks))
        fps_runs.append(len(frames) / (time.perf_counter() - began))
    result = {name: _stats(values) for name, values in stages.items()}
    result["fps"] = round(statistics.median(fps_runs), 1)
    result["faces_per_frame"] = round(float(np.mean(faces_seen)), 2)
    result["full_detections_per_100"] = round(100 * len(full_detect) / max(1, len(full_detect) + len(follow)), 1)
    result["full_detection_ms"] = round(statistics.median(full_detect) * 1000, 2) if full_detect else None
    result["follow_ms"] = round(statistics.median(follow) * 1000, 2) if follow else None
    result["cues_per_face"] = _stats(cues_per_face) if cues_per_face else None
    return result


def soak(analyzer, frames: list[bytes], count: int, journal_path: Path | None, fps: float = 0.0) -> dict:
    """Push `count` frames through the live path as the page does (background analysis, frames
    dropped while busy), recording if a journal path is given. `fps` > 0 paces frames like a camera
    (a 10,000-frame run then takes 10000/fps seconds); 0 sends them as fast as they are taken.
    """
    from xface.app.live import LiveSession
    from xface.journal.store import Journal

    decoded = [np.asarray(Image.open(io.BytesIO(data)).convert("RGB")) for data in frames]
    journal = Journal(journal_path) if journal_path else None
    session = LiveSession(analyzer, background=True)
    session_id = session.start_recording(journal) if journal else None
    start_rss, crashes = _rss_mb(), 0
    samples = []
    began = time.perf_counter()
    for index in range(count):
        if index % max(1, count // 10) == 0:
            samples.append(round(_rss_mb()))
        try:
            session.process(decoded[index % len(decoded)])
        except Exception:  # counted, reported: the soak's point is that there are none
            crashes += 1
        if fps > 0:
            time.sleep(max(0.0, began + (index + 1) / fps - time.perf_counter()))
    session.wait_idle(timeout=30)
    elapsed = time.perf_counter() - began
    rows = 0
    snapshot = session.snapshot()
    recording_error = snapshot.recording.error if snapshot.recording else None
    if journal:
        session.stop_recording()
        rows = len(journal.observations(session_id))
        journal.close()
    return {
        "frames": count,
        "frames_analysed": snapshot.frames_analysed,
        "frames_dropped": snapshot.frames_dropped,
        "seconds": round(elapsed, 1),
        "rss_start_mb": round(start_rss, 1),
        "rss_end_mb": round(_rss_mb(), 1),
        "rss_mb_each_tenth": samples,
        "rows_written": rows,
        "errors": crashes + snapshot.analysis_errors + (1 if recording_error else 0),
    }


def hd_clip(faces_dir: Path, path: Path, seconds: float, fps: int = 25) -> Path:
    """A 1280×720 H.264 clip of `seconds`: one face of about 360 px on grey, the view sliding as in `frame_sequence`
    (the issue's target case: 720p at 25-30 fps). Made here, so `xface bench` needs no video file."""
    import av

    width, height = 1280, 720
    canvas = Image.new("RGB", (width + 180, height + 120), (90, 90, 90))
    face = _face_crops(faces_dir, 1)[0].resize((360, 360), Image.Resampling.BICUBIC)
    canvas.paste(face, ((canvas.width - 360) // 2, (canvas.height - 360) // 2))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        for index in range(round(seconds * fps)):
            phase = 2 * np.pi * index / 90
            left = int(90 * (1 + np.sin(phase)))
            top = int(60 * (1 + np.sin(phase / 2)))
            window = np.asarray(canvas.crop((left, top, left + width, top + height)))
            for packet in stream.encode(av.VideoFrame.from_ndarray(window, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def video_speed(analyzer, path: Path, readings_per_second: float) -> dict:
    """A video file read as `xface analyze` reads it (decode, the stream path, CSV rows to nowhere), timed.

    The multiple of real time is given twice: by the clock on the wall (what a person waits, on this machine
    as busy as it is) and per core (clip seconds over the process's CPU seconds: what one free core does;
    the networks and the decoder run on one thread each, one after the other). RSS is sampled every tenth
    of the clip: it must stay flat, as rows are written and forgotten.
    """
    from xface.vision.video import CsvRows, VideoFile, frame_rows, read_video

    with VideoFile(path) as video:
        info = video.info
    duration = info.duration or 0.0
    samples, rows, frames, last_time = [], 0, 0, 0.0
    next_sample = 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    with open(os.devnull, "w", newline="", encoding="utf-8") as nowhere:
        writer = CsvRows(nowhere)
        for frame in read_video(analyzer, path, readings_per_second=readings_per_second):
            for row in frame_rows(path.name, frame):
                writer.write(row)
            rows += len(frame.readings)
            frames += 1
            last_time = frame.time
            if frame.time >= next_sample:
                samples.append(round(_rss_mb()))
                next_sample += duration / 10 if duration else float("inf")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    seconds = duration or last_time
    return {
        "file": path.name,
        "size": f"{info.width}x{info.height}",
        "fps": round(info.fps, 2) if info.fps else None,
        "clip_s": round(seconds, 1),
        "readings_per_second": readings_per_second,
        "frames_read": frames,
        "rows": rows,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "realtime_wall": round(seconds / wall, 2),
        "realtime_per_core": round(seconds / cpu, 2),
        "rss_mb_each_tenth": samples,
    }


def _process_rss_mb(pid: int) -> float | None:
    """Resident memory of another process (Linux /proc), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1e3
    except OSError:
        pass
    return None


def cold_start_problem() -> str | None:
    """Why `--cold-start` can't run in this install, in one sentence (no playwright, no Chromium); None if it can."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("playwright") is None:
        return (
            "xface bench --cold-start drives a browser with playwright, which the base install leaves out: "
            "install the test extra with `.venv/bin/pip install -e '.[test]'`, or leave out --cold-start"
        )
    if shutil.which("chromium") is None:
        return "xface bench --cold-start needs Chromium (`apt-get install chromium`), or leave out --cold-start"
    return None


def cold_start_seconds(timeout: float = 120.0) -> tuple[float, float | None]:
    """Seconds from `streamlit run app.py` to the first page rendered in headless Chromium, and the
    server's resident memory (MB) once the live page has loaded the model (see `cold_start_problem` first)."""
    import shutil
    import socket
    import tempfile

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        # The browser is open already, as a person's would be: the clock starts at `streamlit run`.
        browser = playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        began = time.perf_counter()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
            ],
            cwd=root,
            env={**os.environ, "XFACE_DB": str(Path(tmp) / "journal.db")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while time.perf_counter() - began < timeout:
                try:
                    urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.02)
            page.goto(f"http://localhost:{port}/", timeout=timeout * 1000)
            page.get_by_role("heading").first.wait_for(timeout=timeout * 1000)
            elapsed = time.perf_counter() - began
            # Live practice loads every model: this is the app's working size.
            page.goto(f"http://localhost:{port}/live_practice", timeout=timeout * 1000)
            page.get_by_text("Press Start camera").first.wait_for(timeout=timeout * 1000)
            app_rss = _process_rss_mb(server.pid)
            return elapsed, app_rss
        finally:
            browser.close()
            server.terminate()
            server.wait(timeout=20)


def format_table(report: dict) -> str:
    lines = [f"model load {report['model_load_s']:.2f} s; threads {report['threads']}; median / p95 ms per frame"]
    header = f"{'sequence':<14}{'fps':>6}{'faces':>6}" + "".join(f"{stage:>16}" for stage in STAGES)
    lines.append(header)
    for name, row in report["sequences"].items():
        cells = "".join(f"{row[s]['median_ms']:>9.1f} /{row[s]['p95_ms']:>5.1f}" for s in STAGES)
        lines.append(f"{name:<14}{row['fps']:>6.1f}{row['faces_per_frame']:>6.2f}{cells}")
    lines.append("detect, split: full detections per 100 frames; median ms of a full detection / of following")
    for name, row in report["sequences"].items():
        full = "-" if row["full_detection_ms"] is None else f"{row['full_detection_ms']:.1f}"
        follow = "-" if row["follow_ms"] is None else f"{row['follow_ms']:.1f}"
        lines.append(f"  {name:<14}{row['full_detections_per_100']:>6.1f}   {full:>6} / {follow}")
    lines.append("landmarks + cues (mesh crop, mesh model, pose fit, measures): median / p95 ms a face")
    for name, row in report["sequences"].items():
        if (per_face := row["cues_per_face"]) is not None:
            lines.append(f"  {name:<14}{per_face['median_ms']:>6.2f} / {per_face['p95_ms']:.2f}")
    lines.append(f"peak RSS {report['peak_rss_mb']:.0f} MB")
    if "soak" in report:
        lines.append("soak " + json.dumps(report["soak"]))
    if report.get("cold_start_s") is not None:
        lines.append(f"app cold start (streamlit run → first page in Chromium) {report['cold_start_s']:.1f} s")
    if report.get("app_rss_mb") is not None:
        lines.append(f"app resident memory with the model loaded {report['app_rss_mb']:.0f} MB")
    if (video := report.get("video")) is not None:
        lines.append(
            f"video file {video['file']} ({video['size']}, {video['fps']} fps, {video['clip_s']} s), "
            f"{video['readings_per_second']:g} readings a second of clip: {video['realtime_per_core']:.2f}× real time "
            f"per core ({video['cpu_s']} CPU s), {video['realtime_wall']:.2f}× by the wall clock "
            f"({video['wall_s']} s); "
            f"{video['rows']} rows; RSS MB each tenth {video['rss_mb_each_tenth']}"
        )
    return "\n".join(lines)


def main(args) -> int:
    from xface.app.live import APP_THREADS
    from xface.vision.pipeline import Analyzer

    faces_dir = Path(args.faces_dir)
    if not (faces_dir / "with_faces" / "boxes.csv").is_file():
        raise FileNotFoundError(f"{faces_dir} has no with_faces/boxes.csv (pass --faces-dir)")
    if args.cold_start and (problem := cold_start_problem()):  # said before minutes of measuring, not after
        raise ValueError(problem)
    began = time.perf_counter()
    threads = args.threads or APP_THREADS
    analyzer = Analyzer(threads=threads)
    report = {
        "model_load_s": round(time.perf_counter() - began, 2),
        "threads": threads,
        "frames": args.frames,
        "repeats": args.repeats,
        "sequences": {},
    }
    for name in SEQUENCES if args.frames > 0 else ():
        report["sequences"][name] = run_sequence(analyzer, sequence_frames(faces_dir, name, args.frames), args.repeats)
    if args.video:
        report["video"] = video_speed(analyzer, Path(args.video), args.readings_per_second)
    elif args.video_seconds > 0:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            clip = hd_clip(faces_dir, Path(tmp) / "bench_720p.mp4", args.video_seconds)
            report["video"] = video_speed(analyzer, clip, args.readings_per_second)
    if args.soak:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            frames = sequence_frames(faces_dir, "one face", 90)
            journal_path = Path(tmp) / "journal.db" if args.record else None
            report["soak"] = soak(analyzer, frames, args.soak, journal_path, fps=args.soak_fps)
    report["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    started = cold_start_seconds() if args.cold_start else None
    report["cold_start_s"] = round(started[0], 2) if started else None
    report["app_rss_mb"] = round(started[1], 1) if started and started[1] else None
    print(format_table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    if report.get("soak", {}).get("errors"):
        print(f"xface: the soak had {report['soak']['errors']} errors (there must be none)", file=sys.stderr)
        return 1
    return 0
