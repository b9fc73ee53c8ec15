"""`xface analyze` on video streams its rows and survives Ctrl-C: a real subprocess, a real clip, a real SIGINT."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.clips import PEXELS

ROOT = Path(__file__).resolve().parents[2]


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "xface.tools.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def lines_in(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("\n") if path.exists() else 0


def interrupt_once_rows_come(process: subprocess.Popen, out: Path, rows: int) -> tuple[str, str]:
    """Wait (without a clock limit) until `rows` lines are on disk, press Ctrl-C, and collect what it said."""
    while lines_in(out) < rows and process.poll() is None:
        time.sleep(0.2)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    return process.communicate()


def test_ctrl_c_keeps_every_csv_row_and_says_where_it_stopped(tmp_path: Path) -> None:
    out = tmp_path / "readings.csv"
    process = start("analyze", str(PEXELS), "--csv", str(out))
    stdout, stderr = interrupt_once_rows_come(process, out, rows=30)
    assert process.returncode == 130, stderr
    said = re.search(r"xface: interrupted after (\d+):(\d+\.\d) \(frame (\d+)\) of (.+); the (\d+) rows", stderr)
    assert said, stderr
    assert said.group(4).endswith("woman_emotions_pexels.mp4")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == int(said.group(5)) >= 30
    assert all(row["emotion"] and row["p_happy"] for row in rows), "every row was written whole"
    last = rows[-1]
    assert int(last["frame"]) == int(said.group(3))
    assert abs(float(last["time"]) - (60 * int(said.group(1)) + float(said.group(2)))) < 0.06
    assert float(last["time"]) < 19.0, "it stopped before the end"
    assert "Traceback" not in stderr


def test_ctrl_c_leaves_the_json_list_on_stdout_valid(tmp_path: Path) -> None:
    out = tmp_path / "stdout.json"
    with out.open("w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "xface.tools.cli", "--no-progress", "analyze", str(PEXELS), "--json"],
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        _, stderr = interrupt_once_rows_come(process, out, rows=20)
    assert process.returncode == 130
    rows = json.loads(out.read_text())
    assert len(rows) >= 20 and {"frame", "time", "face_id", "emotion", "probs", "box"} <= set(rows[0])
    assert f"the {len(rows)} rows read until then are in standard output" in stderr


def test_json_lines_come_one_complete_row_a_line(tmp_path: Path) -> None:
    process = start("--no-progress", "analyze", str(PEXELS), "--jsonl", "--readings-per-second", "2")
    stdout, stderr = process.communicate()
    assert process.returncode == 0, stderr
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert 36 <= len(rows) <= 42  # a 19.7 s clip, one face, read twice a second
    assert [row["time"] for row in rows] == sorted(row["time"] for row in rows)
    assert {row["face_id"] for row in rows} == {1}


def test_progress_shows_the_clips_time(tmp_path: Path) -> None:
    process = start("analyze", str(PEXELS), "--csv", str(tmp_path / "r.csv"), "--readings-per-second", "1")
    _, stderr = process.communicate()
    assert process.returncode == 0
    assert re.search(r"woman_emotions_pexels\.mp4: 0:1\d\.\d / 0:19\.7 \(\d+\.\d× real time\)", stderr), stderr[-500:]


def test_a_fifo_named_mp4_is_refused_and_the_rest_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "call.mp4"
    os.mkfifo(fifo)
    process = start("--no-progress", "analyze", str(fifo), str(PEXELS), "--readings-per-second", "1", "--json")
    stdout, stderr = process.communicate()
    assert process.returncode == 1
    assert "xface: call.mp4: this is not a regular file (a pipe, device or folder), so it was not read." in stderr
    rows = json.loads(stdout)
    assert rows[0]["error"].startswith("call.mp4:") and len(rows) > 15


def test_a_video_declaring_huge_frames_is_refused_naming_the_file(tmp_path: Path) -> None:
    huge = tmp_path / "huge.mp4"
    huge.write_bytes(b"YUV4MPEG2 W16000 H16000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(1000))
    process = start("--no-progress", "analyze", str(huge), "--csv", str(tmp_path / "r.csv"))
    _, stderr = process.communicate()
    assert process.returncode == 1
    assert "xface: huge.mp4: the video's pictures are too large (16000×16000; at most 36 megapixels)" in stderr
