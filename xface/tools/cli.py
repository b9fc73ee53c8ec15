"""The `xface` command: analyze, evaluate, train, bench.

Errors a person can fix (a bad file, a missing model) end in one line on stderr and a non-zero
exit, never a traceback. In a batch, a bad file is reported and the rest still processed: the good
files' results are always written, and the exit status is 1 when some files failed.

File names that are not UTF-8 are written with backslash-x escapes (`printable_name`), the same in
JSON, CSV and messages. Boxes and landmarks are in the original photo's pixels, also when a large
photo was read at a reduced size.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from xface.vision.images import IMAGE_SUFFIXES, ImageError, printable_name, read_picture

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"}
CSV_FIELDS = [
    "file",
    "frame",
    "time",
    "face",
    "face_id",
    "x1",
    "y1",
    "x2",
    "y2",
    "detection_score",
    "emotion",
    "confidence",
]
"""The CSV's first columns; every nested dict of a reading (probs, cues, …) follows as prefixed columns."""
COLUMN_PREFIXES = {"probs": "p_"}
"""Prefix of a nested dict's columns: `p_happy` for probs; any other dict `cues` gives `cues_brow_raise`."""


class CommandError(Exception):
    """A problem to report in one line."""


def _expand(paths: list[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
        else:
            yield path


def _video_frames(path: Path) -> Iterator[tuple[int, float, object]]:
    import av

    name = printable_name(path.name)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as error:
        raise ImageError(f"{name}: the video could not be opened ({error})") from None
    with container:
        stream = container.streams.video[0] if container.streams.video else None
        if stream is None:
            raise ImageError(f"{name}: the file has no video stream")
        try:
            for index, frame in enumerate(container.decode(stream)):
                yield index, float(frame.time or 0.0), frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as error:
            raise ImageError(f"{name}: the video is damaged ({error})") from None


def _in_original_pixels(record: dict, scale: float) -> dict:
    """A reading's box and landmarks in the photo's own pixels when it was read at `scale` of its size."""
    if scale != 1.0:
        record["box"] = [round(value / scale, 1) for value in record["box"]]
        record["landmarks"] = [[round(value / scale, 1) for value in point] for point in record["landmarks"]]
    return record


def _rows(analyzer, path: Path) -> Iterator[dict]:
    name = printable_name(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        stream = analyzer.stream()
        for index, time, frame in _video_frames(path):
            for face, reading in enumerate(stream.process(frame)):
                yield {"file": name, "frame": index, "time": round(time, 3), "face": face, **reading.to_dict()}
    else:
        picture = read_picture(path)
        for face, reading in enumerate(analyzer.analyze(picture.pixels)):
            yield {"file": name, "face": face, **_in_original_pixels(reading.to_dict(), picture.scale)}


def _flat(row: dict) -> dict:
    """One CSV row: the box as x1…y2, each nested dict as prefixed columns, lists (landmarks) left out."""
    flat = {key: row.get(key, "") for key in CSV_FIELDS if key not in ("x1", "y1", "x2", "y2")}
    flat.update(zip(("x1", "y1", "x2", "y2"), row["box"], strict=True))
    for key, value in row.items():
        if isinstance(value, dict):
            prefix = COLUMN_PREFIXES.get(key, f"{key}_")
            flat.update({f"{prefix}{name}": number for name, number in value.items()})
    return flat


def _write_csv(path: str, rows: list[dict]) -> None:
    flat_rows = [_flat(row) for row in rows]
    fields = list(dict.fromkeys(CSV_FIELDS + [key for row in flat_rows for key in row]))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(flat_rows)


def command_analyze(args: argparse.Namespace) -> int:
    from xface.vision.pipeline import Analyzer

    files = list(_expand(args.paths))
    if not files:
        raise CommandError("no images or videos found in the given paths")
    analyzer = Analyzer(model=args.model, min_face_size=args.min_face_size)
    rows, failures = [], 0
    for path in tqdm(files, desc="analyzing", disable=not args.progress, unit="file"):
        try:
            rows.extend(_rows(analyzer, path))
        except Exception as error:  # one file's failure, whatever it is, must not cost the others' results
            failures += 1
            message = str(error) if isinstance(error, ImageError) else f"{printable_name(path.name)}: {error}"
            print(f"xface: {message}", file=sys.stderr)
            rows.append({"file": printable_name(path), "error": message})
    if args.csv:
        _write_csv(args.csv, [row for row in rows if "error" not in row])
    else:
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
    return 1 if failures else 0


def command_evaluate(args: argparse.Namespace) -> int:
    from xface.tools.evaluate import evaluate_detection, evaluate_npz, format_detection, format_report, write_report
    from xface.vision.classifier import load_classifier

    if args.detection:
        if not Path(args.detection).is_dir():
            raise CommandError(f"no such folder: {args.detection}")
        results = evaluate_detection(args.detection, progress=args.progress)
        print(format_detection(results))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return 0
    if not args.npz:
        raise CommandError("say what to evaluate: --npz FILE (expressions) or --detection DIR (faces)")
    if not Path(args.npz).is_file():
        raise CommandError(f"no such file: {args.npz}")
    classifier = load_classifier(args.model, flip_average=not args.no_flip)
    results = evaluate_npz(classifier, args.npz, args.split, progress=args.progress)
    print(format_report(results))
    if args.report:
        for path in write_report(results, args.report):
            print(f"wrote {path}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def command_train(args: argparse.Namespace) -> int:
    from xface.tools.train import TrainSettings, train

    if not Path(args.npz).is_file():
        raise CommandError(f"no such file: {args.npz}")
    # Flags left out are absent from `args` (SUPPRESS), so TrainSettings' own defaults apply: one source.
    fields = {field.name for field in dataclasses.fields(TrainSettings)}
    settings = TrainSettings(**{name: value for name, value in vars(args).items() if name in fields})
    train(settings, progress=args.progress)
    print(f"model saved in {args.out} (load it with --model {args.out})")
    return 0


def command_train_crowd_head(args: argparse.Namespace) -> int:
    from xface.tools.train import CrowdHeadSettings, fit_crowd_head

    if not Path(args.npz).is_file():
        raise CommandError(f"no such file: {args.npz}")
    fields = {field.name for field in dataclasses.fields(CrowdHeadSettings)}
    result = fit_crowd_head(CrowdHeadSettings(**{name: value for name, value in vars(args).items() if name in fields}))
    print(json.dumps(result))
    return 0


def command_teacher(args: argparse.Namespace) -> int:
    from xface.tools.teachers import TeacherSettings, write_teacher

    for path in (args.npz, Path(args.model) / "config.json"):
        if not Path(path).is_file():
            raise CommandError(f"no such file: {path}")
    report = write_teacher(TeacherSettings(model=args.model, npz=args.npz, out=args.out, note=args.note))
    print(json.dumps(report["validation"]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xface", description="Read facial expressions locally.")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")
    commands = parser.add_subparsers(dest="command", required=True)

    analyze = commands.add_parser("analyze", help="per-face readings for images, folders or videos")
    analyze.add_argument("paths", nargs="+")
    analyze.add_argument("--csv", metavar="FILE", help="write CSV here instead of JSON on stdout")
    analyze.add_argument("--model", help="a local checkpoint folder (default: the bundled model)")
    analyze.add_argument("--min-face-size", type=int, default=20)
    analyze.set_defaults(run=command_analyze)

    evaluate = commands.add_parser("evaluate", help="accuracy and confusion matrix on an .npz split")
    evaluate.add_argument("--npz", help="expression accuracy on this .npz (FER2013 with FER+ votes)")
    evaluate.add_argument(
        "--detection", metavar="DIR", help="face detection recall on photos with a boxes.csv, against plain MTCNN"
    )
    evaluate.add_argument("--split", default="val")
    evaluate.add_argument("--model")
    evaluate.add_argument("--report", metavar="DIR", help="write metrics, report and confusion pictures here")
    evaluate.add_argument("--json", metavar="FILE")
    evaluate.add_argument("--no-flip", action="store_true", help="no mirrored second look (test-time augmentation)")
    evaluate.set_defaults(run=command_evaluate)

    train = commands.add_parser(
        "train", help="train the expression transformer (resumes in --out)", argument_default=argparse.SUPPRESS
    )
    train.add_argument("--npz", required=True)
    train.add_argument("--out", default="runs/xface-vit")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--learning-rate", type=float)
    train.add_argument(
        "--ferplus-weight",
        type=float,
        help="share of the FER+ crowd-vote distribution in each target (the rest: the FER2013 label)",
    )
    train.add_argument("--seed", type=int)
    train.add_argument("--threads", type=int)
    train.add_argument("--limit", type=int, help="train on a random subset of this many faces (smoke runs)")
    train.add_argument(
        "--stop-after", type=int, metavar="N", help="end after epoch N, keeping the --epochs learning-rate schedule"
    )
    train.add_argument("--init", metavar="DIR", help="start from this saved model (fine-tune) instead of from scratch")
    train.add_argument("--drop-path", dest="drop_path_rate", type=float, help="stochastic depth rate of the last layer")
    train.add_argument("--dropout", type=float)
    train.add_argument(
        "--erase", dest="erase_probability", type=float, help="share of training faces with a random erased patch"
    )
    train.add_argument("--average-last", type=int, metavar="N", help="save the average of the last N epochs' weights")
    train.add_argument("--device", help='where the model trains: "cpu" (default) or "cuda"')
    train.add_argument("--camera-damage", type=float, help="chance of each webcam/phone damage per face (0: none)")
    train.add_argument("--crowd-weight", type=float, help="train the crowd output too, with this loss weight")
    train.add_argument(
        "--teacher", dest="teachers", action="append", metavar="FILE", help="distil this teacher file (repeatable)"
    )
    train.add_argument("--label-weight", type=float, help="with teachers: share of the labels' own targets")
    train.add_argument("--extra-faces", metavar="NPZ", help="add the training half of these aligned photo faces")
    train.set_defaults(run=command_train)

    crowd = commands.add_parser(
        "train-crowd-head", help="fit the crowd output (FER+ vote shares) on a trained model's frozen body"
    )
    crowd.add_argument("--npz", required=True)
    crowd.add_argument("--model", default=argparse.SUPPRESS, help="the trained model (default: models/xface-vit)")
    crowd.add_argument(
        "--out", default=argparse.SUPPRESS, help="save the model with both outputs here (default: the same)"
    )
    crowd.add_argument("--limit", type=int, default=argparse.SUPPRESS, help="fit on this many training faces")
    crowd.set_defaults(run=command_train_crowd_head)

    teacher = commands.add_parser(
        "teacher", help="keep a trained model as soft targets: its probabilities on the training faces (teachers/)"
    )
    teacher.add_argument("--model", required=True, help="the trained model's folder, e.g. runs/teacher1")
    teacher.add_argument("--npz", required=True)
    teacher.add_argument("--out", required=True, help="the teacher file, e.g. teachers/teacher1.npz")
    teacher.add_argument("--note", default="", help="how the model was trained, kept beside its figures")
    teacher.set_defaults(run=command_teacher)

    bench = commands.add_parser("bench", help="speed and memory of the live pipeline")
    bench.add_argument("--faces-dir", default="../shared/data/faces")
    bench.add_argument("--frames", type=int, default=300)
    bench.add_argument("--repeats", type=int, default=3)
    bench.add_argument("--json", metavar="FILE")
    bench.add_argument("--threads", type=int, help="threads per network (default: as many as the app uses)")
    bench.add_argument("--cold-start", action="store_true", help="also time `streamlit run` to the first page")
    bench.add_argument("--soak", type=int, default=0, metavar="N", help="then push N frames through the live path")
    bench.add_argument("--record", action="store_true", help="record the soak into a temporary journal")
    bench.add_argument("--soak-fps", type=float, default=30.0, help="camera rate for the soak (0: as fast as taken)")
    bench.set_defaults(run=lambda args: __import__("xface.tools.bench", fromlist=["main"]).main(args))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CommandError, ImageError, FileNotFoundError, ValueError) as error:
        print(f"xface: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xface: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
