"""The `xface` command, run as a person would run it (a real subprocess, real files)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.bad_inputs import corpus, text_bomb_png
from tests.clips import cut_after_picture, moving_face, write_clip
from tests.conftest import FER_NPZ, NO_FACES, fer_validation_subset, needs_torch
from xface.emotions import EMOTIONS, emotion_word
from xface.tools.cli import build_parser
from xface.tools.outputs import summary_line
from xface.vision.video import flat_row


def xface(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xface.tools.cli", "--no-progress", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=900,
    )


def own_lines(stderr: str) -> list[str]:
    """Xface's own messages on stderr (libraries may log there too, e.g. the face mesh's runtime)."""
    return [line for line in stderr.splitlines() if line.startswith("xface:")]


def test_analyze_says_when_a_video_was_cut_short_and_keeps_its_rows(tmp_path: Path) -> None:
    frames = moving_face(40)  # 4 s at 10 a second
    whole = write_clip(tmp_path / "whole.mp4", frames, fps=10, faststart=True)
    cut = cut_after_picture(whole, 15, tmp_path / "download.mp4")
    out = tmp_path / "readings.csv"
    result = xface("analyze", str(cut), "--csv", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 15 and float(rows[-1]["time"]) == 1.4
    assert own_lines(result.stderr) == [
        "xface: download.mp4: the pictures stop at 0:01.4, though the video says it lasts 0:04.0; it may have been "
        "cut short. It was read up to 0:01.4."
    ]


def test_analyze_json_is_one_list_a_face_a_line(group_photo: Path) -> None:
    result = xface("analyze", str(group_photo), "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 7
    assert {"file", "face", "box", "landmarks", "emotion", "confidence", "probs", "detection_score"} <= set(rows[0])
    lines = result.stdout.splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == 7 + 2  # not one number a line


def test_analyze_writes_csv_for_a_folder_and_a_video(tmp_path: Path, portrait: np.ndarray, group_photo: Path) -> None:
    import av

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "group.jpg").write_bytes(group_photo.read_bytes())
    video = folder / "clip.mp4"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.roll(portrait, 4 * i, axis=1)), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    out = tmp_path / "readings.csv"
    result = xface("analyze", str(folder), "--csv", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    photo_rows = [r for r in rows if r["file"].endswith("group.jpg")]
    video_rows = [r for r in rows if r["file"].endswith("clip.mp4")]
    assert len(photo_rows) == 7
    assert [int(r["frame"]) for r in video_rows] == list(range(6))
    assert len({r["face_id"] for r in video_rows}) == 1
    times = [float(r["time"]) for r in video_rows]
    assert times == sorted(times) and times[-1] > 0
    assert (
        abs(
            sum(
                float(video_rows[0][f"p_{e}"])
                for e in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
            )
            - 1
        )
        < 1e-3
    )


def test_bad_files_in_a_batch_get_one_line_each_and_the_rest_is_processed(tmp_path: Path, group_photo: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for name, (data, _) in corpus().items():
        (folder / name).write_bytes(data)
    (folder / "zz_group.jpg").write_bytes(group_photo.read_bytes())
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    result = xface("analyze", str(folder), "--json")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    rows = json.loads(result.stdout)
    errors = {Path(r["file"]).name for r in rows if "error" in r}
    expected_errors = {n for n, (_, e) in corpus().items() if e == "error"} | {"broken.mp4"}
    assert errors == expected_errors
    assert len(own_lines(result.stderr)) == len(expected_errors)
    assert sum(1 for r in rows if Path(r["file"]).name == "zz_group.jpg") == 7


def test_file_names_that_are_not_utf8_are_escaped_alike_in_json_and_csv(tmp_path: Path, group_photo: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    odd = folder / os.fsdecode(b"caf\xe9 \xff.jpg")  # Latin-1 é and a byte no encoding uses
    odd.write_bytes(group_photo.read_bytes())
    (folder / "plain.jpg").write_bytes(group_photo.read_bytes())
    escaped = str(folder) + "/caf\\xe9 \\xff.jpg"

    as_json = xface("analyze", str(folder), "--json")
    assert as_json.returncode == 0, as_json.stderr
    names = [row["file"] for row in json.loads(as_json.stdout)]
    assert names == [escaped] * 7 + [str(folder / "plain.jpg")] * 7

    out = tmp_path / "readings.csv"
    as_csv = xface("analyze", str(folder), "--csv", str(out))
    assert as_csv.returncode == 0, as_csv.stderr
    assert [row["file"] for row in csv.DictReader(out.open(encoding="utf-8"))] == names


def test_a_failed_file_costs_only_itself_and_exits_1(tmp_path: Path, group_photo: Path) -> None:
    """A PNG text bomb (Pillow: a bare ValueError) beside a good photo: the good rows are written, JSON or CSV."""
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a_bomb.png").write_bytes(text_bomb_png())
    (folder / os.fsdecode(b"b_\xff.png")).write_bytes(text_bomb_png(b"iTXt"))
    (folder / "c_group.jpg").write_bytes(group_photo.read_bytes())

    as_json = xface("analyze", str(folder), "--json")
    assert as_json.returncode == 1
    rows = json.loads(as_json.stdout)
    assert [Path(r["file"]).name for r in rows if "error" in r] == ["a_bomb.png", "b_\\xff.png"]
    assert sum(1 for r in rows if "error" not in r) == 7
    assert own_lines(as_json.stderr) == [
        "xface: a_bomb.png: the picture has too much hidden text to open safely",
        "xface: b_\\xff.png: the picture has too much hidden text to open safely",
    ]

    out = tmp_path / "readings.csv"
    as_csv = xface("analyze", str(folder), "--csv", str(out))
    assert as_csv.returncode == 1 and "Traceback" not in as_csv.stderr
    assert [Path(r["file"]).name for r in csv.DictReader(out.open())] == ["c_group.jpg"] * 7


def test_every_nested_reading_dict_becomes_prefixed_csv_columns(tmp_path: Path, group_photo: Path) -> None:
    """probs → p_<emotion>; any other dict (cues, once readings carry them) → <name>_<key>, with no code change."""
    as_json = xface("analyze", str(group_photo), "--json")
    out = tmp_path / "readings.csv"
    as_csv = xface("analyze", str(group_photo), "--csv", str(out))
    assert as_json.returncode == as_csv.returncode == 0
    first_json = json.loads(as_json.stdout)[0]
    first_csv = next(csv.DictReader(out.open()))
    for key, value in first_json.items():
        if isinstance(value, dict):
            prefix = "p_" if key == "probs" else f"{key}_"
            for name, number in value.items():
                assert float(first_csv[f"{prefix}{name}"]) == pytest.approx(number), (key, name)
    row = {"file": "a.jpg", "box": [1, 2, 3, 4], "probs": {"happy": 0.9}, "cues": {"jaw_drop": 0.25}}
    flat = flat_row(row)
    assert (flat["p_happy"], flat["cues_jaw_drop"], flat["x2"], flat["y2"]) == (0.9, 0.25, 3, 4)


def test_analyze_prints_a_line_a_face_in_xface_words_by_default(group_photo: Path) -> None:
    """The default is for people: file, face, box, the word the app uses, how sure, the strongest cues; then a count."""
    result = xface("analyze", str(group_photo))
    assert result.returncode == 0, result.stderr
    rows = json.loads(xface("analyze", str(group_photo), "--json").stdout)
    lines = result.stdout.splitlines()
    assert len(lines) == len(rows) + 1 == 8
    for line, row in zip(lines, rows, strict=False):
        x1, y1, x2, y2 = (round(value) for value in row["box"])
        expected = f"{group_photo}  face {row['face'] + 1}  box {x1},{y1}-{x2},{y2}  {emotion_word(row['emotion'])} "
        assert line.startswith(expected), (line, expected)
        assert f" {round(100 * row['confidence'])} %  " in line
    assert lines[-1] == "7 faces in 1 file."


def test_the_summary_says_afraid_surprised_disgusted_as_the_app_does() -> None:
    """JSON and CSV keep the machine labels (fear, surprise, disgust); the line a person reads has the app's word."""
    row = {"file": "a.jpg", "face": 0, "box": [1.0, 2.0, 30.0, 40.0], "confidence": 0.5, "cues": None}
    for label, word in (("fear", "afraid"), ("surprise", "surprised"), ("disgust", "disgusted")):
        line = summary_line({**row, "emotion": label})
        assert f"  {word} 50 %  " in line and label not in line.replace(word, "")
    video_line = summary_line({**row, "emotion": "happy", "frame": 12, "time": 0.4, "face_id": 3})
    assert video_line.startswith("a.jpg  frame 12 at 0.40 s  face 1 (id 3)  box 1,2-30,40  happy 50 %  ")
    assert set(EMOTIONS) == set(
        build_parser().epilog.split("labels in JSON and CSV: ")[1].replace("(", "").split()[::2]
    )


def test_a_video_rows_cues_are_worded_against_the_persons_own_face_once_known() -> None:
    """Against a typical face a faint change is not named (faces differ by build); against the person's own
    relaxed face it is news: the summary line says what the app's pages say for the same row."""
    from xface.teach.explain import cue_line, show_at

    faint = (show_at("lip_corner_pull", typical=False) + show_at("lip_corner_pull", typical=True)) / 2
    row = {"file": "a.mp4", "face": 0, "box": [1.0, 2.0, 30.0, 40.0], "confidence": 0.9, "emotion": "happy"}
    row |= {"frame": 3, "time": 0.1, "face_id": 1, "cues": {"lip_corner_pull": faint}}
    own = summary_line({**row, "cues_against_typical": False})
    typical = summary_line({**row, "cues_against_typical": True})
    assert own.endswith(cue_line(row["cues"], most=2, typical=False)) and "corners pulled up" in own
    assert typical.endswith(cue_line(row["cues"], most=2, typical=True)) and "corners pulled up" not in typical


def test_jsonl_gives_the_same_rows_one_a_line(group_photo: Path) -> None:
    as_json = json.loads(xface("analyze", str(group_photo), "--json").stdout)
    as_lines = xface("analyze", str(group_photo), "--jsonl")
    assert as_lines.returncode == 0, as_lines.stderr
    assert [json.loads(line) for line in as_lines.stdout.splitlines()] == as_json


def test_csv_says_what_it_wrote_and_where(tmp_path: Path, group_photo: Path) -> None:
    out = tmp_path / "readings.csv"
    result = xface("analyze", str(group_photo), "--csv", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"7 faces in 1 file. Wrote 7 rows to {out}.\n"
    assert len(list(csv.DictReader(out.open()))) == 7


def test_the_summary_names_files_without_a_face_and_files_that_failed(tmp_path: Path, group_photo: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a_group.jpg").write_bytes(group_photo.read_bytes())
    (folder / "b_dog.jpg").write_bytes(next(NO_FACES.glob("*.jpg")).read_bytes())
    (folder / "c_broken.jpg").write_bytes(b"not a picture")
    result = xface("analyze", str(folder))
    assert result.returncode == 1
    (failed,) = own_lines(result.stderr)
    assert failed.startswith("xface: c_broken.jpg: ")
    assert "c_broken" not in result.stdout.replace("1 file could not be read", "")
    assert (
        result.stdout.splitlines()[-1]
        == f"7 faces in 3 files. No face in {folder / 'b_dog.jpg'}. 1 file could not be read."
    )


@pytest.mark.parametrize(
    ("command", "needed"),
    [("analyze", ["x.jpg"]), ("evaluate", []), ("train", ["--npz", "x"]), ("train-crowd-head", ["--npz", "x"]),
     ("bench", [])],
)  # fmt: skip
def test_global_options_work_before_and_after_the_command(command: str, needed: list[str]) -> None:
    parser = build_parser()
    assert parser.parse_args([command, *needed]).progress is True
    assert parser.parse_args(["--no-progress", command, *needed]).progress is False
    assert parser.parse_args([command, *needed, "--no-progress"]).progress is False


def test_every_option_of_every_command_has_help_with_its_default() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices
    for name, command in commands.items():
        formatter = command._get_formatter()
        for action in command._actions:
            assert action.help, f"xface {name} {action.option_strings or action.dest} has no help text"
            shown = formatter._get_help_string(action)
            if action.option_strings and not isinstance(action, argparse._StoreConstAction | argparse._HelpAction):
                default = action.default
                if default not in (None, argparse.SUPPRESS):
                    assert f"default: {default}" in shown, (name, action.dest, shown)
    analyze_help = xface("analyze", "--help").stdout
    for option in ("--json", "--jsonl", "--csv FILE", "--model DIR", "--min-face-size PX", "--no-progress"):
        assert option in analyze_help
    assert "(default: 20)" in analyze_help and "PATH" in analyze_help


@needs_torch
def test_train_help_shows_the_training_settings_defaults() -> None:
    """train's flags default to TrainSettings' values (one source); the help reads them from there."""
    from xface.tools.train import TrainSettings

    text = " ".join(xface("train", "--help").stdout.split())
    assert f"--epochs N length of the learning-rate schedule (default: {TrainSettings.epochs})" in text
    assert f"(default: {TrainSettings.device})" in text


def test_boxes_of_a_photo_read_at_reduced_size_are_in_its_own_pixels(tmp_path: Path, analyzer, portrait) -> None:
    """A 3200×2400 JPEG is decoded at half size; the CLI still reports the box where the face is in the file."""
    big = tmp_path / "big.jpg"
    Image.fromarray(portrait).resize((3200, 2400), Image.Resampling.BICUBIC).save(big, quality=92)
    result = xface("analyze", str(big), "--json")
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    (small,) = analyzer.analyze(portrait)
    expected = [5 * value for value in small.box]
    assert row["box"] == pytest.approx(expected, abs=0.04 * 3200)
    assert np.asarray(row["landmarks"]) == pytest.approx(5 * small.landmarks, abs=0.04 * 3200)


def test_missing_path_is_one_line_and_nonzero(tmp_path: Path) -> None:
    result = xface("analyze", str(tmp_path / "nothing-here"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and len(own_lines(result.stderr)) == 1


def test_evaluate_writes_report_json_and_confusion_pictures(tmp_path: Path) -> None:
    pick = np.random.default_rng(0).choice(len(np.load(FER_NPZ)["y_val"]), 300, replace=False)
    small = fer_validation_subset(tmp_path / "small.npz", pick)
    result = xface(
        "evaluate",
        "--npz",
        str(small),
        "--split",
        "val",
        "--report",
        str(tmp_path / "report"),
        "--json",
        str(tmp_path / "m.json"),
    )
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "macro_avg" in result.stdout
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["fer2013"]["count"] == 300
    assert sum(map(sum, metrics["fer2013"]["confusion_matrix"])) == 300
    assert 0.4 < metrics["fer2013"]["accuracy"] <= 1.0
    assert set(metrics["fer2013"]["per_class"]) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    for name in ("confusion_fer2013.png", "confusion_ferplus_majority.png", "report.txt", "metrics.json"):
        assert (tmp_path / "report" / name).stat().st_size > 0


def test_evaluate_photos_in_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = xface("evaluate", "--photos", str(tmp_path / "nosuch"))
    assert result.returncode == 2 and "no such folder or labels file" in result.stderr
    assert "Traceback" not in result.stderr


def test_evaluate_unknown_split_is_a_clear_error() -> None:
    result = xface("evaluate", "--npz", str(FER_NPZ), "--split", "nosuch")
    assert result.returncode == 2 and "x_nosuch" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
@needs_torch
def test_train_smoke_run_saves_a_loadable_model_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = xface(
        "train", "--npz", str(FER_NPZ), "--out", str(out), "--epochs", "2", "--stop-after", "1", "--limit", "256"
    )
    assert first.returncode == 0, first.stderr
    assert [json.loads(line)["epoch"] for line in first.stdout.splitlines() if line.startswith("{")] == [1]
    second = xface("train", "--npz", str(FER_NPZ), "--out", str(out), "--epochs", "2", "--limit", "256")
    assert second.returncode == 0, second.stderr
    assert "resuming after epoch 1" in second.stdout
    history = json.loads((out / "training_log.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2]
    import torch

    from xface.tools.train import uses_bfloat16

    automatic = "bfloat16" if uses_bfloat16("auto", torch.device("cpu")) else "float32"
    assert [h["precision"] for h in history] == [automatic, automatic]
    from xface.vision.classifier import load_classifier

    classifier = load_classifier(out)
    assert classifier.predict(np.zeros((1, 48, 48, 3), np.uint8)).shape == (1, 7)
    tuned = xface(
        "train",
        "--npz",
        str(FER_NPZ),
        "--out",
        str(tmp_path / "tuned"),
        "--epochs",
        "1",
        "--limit",
        "256",
        "--init",
        str(out),
        "--precision",
        "float32",
    )
    assert tuned.returncode == 0, tuned.stderr
    assert "resuming" not in tuned.stdout
    assert json.loads((tmp_path / "tuned" / "training_log.json").read_text())["history"][0]["precision"] == "float32"
    tuned_size = load_classifier(tmp_path / "tuned").backend.model.config.hidden_size
    assert tuned_size == classifier.backend.model.config.hidden_size


@pytest.mark.slow
@needs_torch
def test_a_resumed_run_repeats_the_uninterrupted_one_drop_path_included(tmp_path: Path) -> None:
    """A run stopped by a session's end and resumed must end where one that never stopped ends."""
    import torch
    from safetensors.torch import load_file

    settings = ["--npz", str(FER_NPZ), "--epochs", "2", "--limit", "256", "--drop-path", "0.2", "--threads", "1"]
    whole = xface("train", *settings, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    first = xface("train", *settings, "--out", str(tmp_path / "resumed"), "--stop-after", "1")
    assert first.returncode == 0, first.stderr
    second = xface("train", *settings, "--out", str(tmp_path / "resumed"))
    assert second.returncode == 0 and "resuming after epoch 1" in second.stdout, second.stderr
    uninterrupted = load_file(tmp_path / "whole" / "model.safetensors")
    resumed = load_file(tmp_path / "resumed" / "model.safetensors")
    assert uninterrupted.keys() == resumed.keys()
    assert all(torch.equal(uninterrupted[name], resumed[name]) for name in uninterrupted)


@needs_torch
@pytest.mark.parametrize(
    ("device", "message"),
    [("abacus", 'unknown device "abacus"'), ("meta", 'not "meta"'), ("cuda", "no CUDA GPU on this machine")],
)
def test_train_refuses_a_device_it_cannot_use_before_touching_anything(tmp_path: Path, device, message) -> None:
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU, so training on it is allowed")
    out = tmp_path / "run"
    result = xface("train", "--npz", str(FER_NPZ), "--out", str(out), "--device", device)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


@needs_torch
def test_training_autocasts_to_bfloat16_only_where_the_hardware_has_it() -> None:
    import torch

    from xface.tools.train import uses_bfloat16

    cpu = torch.device("cpu")
    assert uses_bfloat16("bfloat16", cpu) and not uses_bfloat16("float32", cpu)
    capabilities = torch.cpu.get_capabilities()
    native = bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16") or capabilities.get("bf16"))
    assert uses_bfloat16("auto", cpu) == native  # emulated bfloat16 was 15 times slower on an AVX2 CPU
    assert uses_bfloat16("auto", torch.device("cuda"))
    with pytest.raises(ValueError, match='unknown precision "half"'):
        uses_bfloat16("half", cpu)


@needs_torch
@pytest.mark.parametrize(
    ("instructions", "bfloat16"),
    [({"avx2": True}, False), ({"avx2": True, "avx512_bf16": True}, True), ({"amx_bf16": True}, True),
     ({"bf16": True}, True), ({"avx512_f": True, "avx512_bf16": False}, False)],
)  # fmt: skip
def test_auto_precision_reads_the_cpus_bfloat16_instructions(monkeypatch, instructions: dict, bfloat16: bool) -> None:
    import torch

    from xface.tools.train import uses_bfloat16

    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: instructions)  # another machine's CPU
    assert uses_bfloat16("auto", torch.device("cpu")) is bfloat16
    assert uses_bfloat16("float32", torch.device("cpu")) is False


def test_train_refuses_a_precision_it_does_not_know(tmp_path: Path) -> None:
    result = xface("train", "--npz", str(FER_NPZ), "--out", str(tmp_path / "run"), "--precision", "half")
    assert result.returncode == 2 and "invalid choice: 'half'" in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def bundled_model_metrics(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`xface evaluate` of the committed model on FER2013 PublicTest (3,589 faces)."""
    path = tmp_path_factory.mktemp("evaluate") / "m.json"
    result = xface("evaluate", "--npz", str(FER_NPZ), "--split", "val", "--json", str(path))
    assert result.returncode == 0, result.stderr
    metrics = json.loads(path.read_text())
    assert metrics["fer2013"]["count"] == 3589
    return metrics


@pytest.mark.slow
def test_bundled_model_reaches_the_papers_accuracy_on_the_validation_split(bundled_model_metrics: dict) -> None:
    """The committed model against FER2013 PublicTest. FER2013 output: issue 21's 69.7 % and more (measured:
    70.38 %; the ViT paper: 68.45 %). Crowd output (issue 21's floors): FER+ majority >= 82 % (measured 82.74 %)
    and KL to the crowd's votes <= 0.335 (measured 0.327), so no regression lands unnoticed."""
    assert bundled_model_metrics["fer2013"]["accuracy"] >= 0.70
    assert bundled_model_metrics["ferplus_majority"]["accuracy"] >= 0.82
    assert bundled_model_metrics["ferplus_kl"] <= 0.335
    assert bundled_model_metrics["calibration"]["crowd"]["ece"] <= 0.01  # measured: 0.005


@pytest.mark.slow
@needs_torch
def test_train_averages_the_last_epochs_with_the_regularization_asked_for(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = xface(
        "train", "--npz", str(FER_NPZ), "--out", str(out), "--epochs", "3", "--limit", "256",
        "--average-last", "2", "--drop-path", "0.02", "--dropout", "0", "--erase", "0", "--device", "cpu",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Writing model shards" not in result.stderr
    log = json.loads((out / "training_log.json").read_text())
    assert log["averaged"]["epochs"] == [2, 3]
    assert sorted(p.name for p in (out / "epochs").iterdir()) == ["epoch_2.safetensors", "epoch_3.safetensors"]
    import torch
    from safetensors.torch import load_file

    saved = load_file(out / "model.safetensors")
    epochs = [load_file(out / "epochs" / f"epoch_{n}.safetensors") for n in (2, 3)]
    name = "classifier.weight"
    assert not torch.equal(epochs[0][name], epochs[1][name])
    assert torch.allclose(saved[name], (epochs[0][name] + epochs[1][name]) / 2)
    config = json.loads((out / "config.json").read_text())
    assert (config["drop_path_rate"], config["hidden_dropout_prob"]) == (0.02, 0.0)
    assert log["settings"]["device"] == "cpu"
