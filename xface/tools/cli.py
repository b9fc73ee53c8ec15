"""The `xface` command: analyze, evaluate, train, bench.

Errors a person can fix (a bad file, a missing model) end in one line on stderr and a non-zero
exit, never a traceback. In a batch, a bad file is reported and the rest still processed: the good
files' results are always written, and the exit status is 1 when some files failed.

File names that are not UTF-8 are written with backslash-x escapes (`printable_name`), the same in
JSON, CSV and messages. Boxes and landmarks are in the original photo's pixels, also when a large
photo was read at a reduced size.

`analyze` streams: rows are written as each frame (or photo) is read, in one of three thin formats over
the same rows (a JSON list on stdout, `--jsonl`, `--csv`), so memory stays flat over hours of video. Ctrl-C
stops after the frame being read, keeps every row written, and says where it stopped (exit status 130).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from xface.vision.images import IMAGE_SUFFIXES, ImageError, printable_name, read_picture
from xface.vision.video import (
    READINGS_PER_SECOND,
    VIDEO_SUFFIXES,
    AnalysedFrame,
    CsvRows,
    VideoFile,
    clock,
    frame_rows,
)


class CommandError(Exception):
    """A problem to report in one line."""


def _expand(paths: list[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
        else:
            yield path


def _in_original_pixels(record: dict, scale: float) -> dict:
    """A reading's box and landmarks in the photo's own pixels when it was read at `scale` of its size."""
    if scale != 1.0:
        record["box"] = [round(value / scale, 1) for value in record["box"]]
        record["landmarks"] = [[round(value / scale, 1) for value in point] for point in record["landmarks"]]
    return record


@dataclass
class Whereabouts:
    """Where the analysis is: the file, and in a video the last frame read (to say where an interruption stopped)."""

    file: str = ""
    frame: int | None = None
    time: float | None = None
    rows: int = 0


def _photo_rows(analyzer, path: Path) -> list[dict]:
    name = printable_name(path)
    if path.exists() and not path.is_file():
        raise ImageError(f"{printable_name(path.name)}: this is not a regular file (a pipe, device or folder).")
    picture = read_picture(path)
    return [
        {"file": name, "face": face, **_in_original_pixels(reading.to_dict(), picture.scale)}
        for face, reading in enumerate(analyzer.analyze(picture.pixels))
    ]


def _video_rows(analyzer, path: Path, where: Whereabouts, progress: bool, per_second: float) -> Iterator[list[dict]]:
    """Each analysed frame's rows as it is read, with a progress bar in clip time."""
    name = printable_name(path)
    with VideoFile(path) as video:
        duration = video.info.duration
        bar = tqdm(
            total=round(duration, 1) if duration else None,
            disable=not progress,
            leave=False,
            bar_format="{desc} {percentage:3.0f}%|{bar}|" if duration else "{desc}",
        )
        stream = analyzer.stream()
        began = time.perf_counter()
        with bar:
            for index, at, pixels in video.frames(per_second):
                frame = AnalysedFrame(index, at, stream.process(pixels))
                where.frame, where.time = index, at
                speed = at / max(time.perf_counter() - began, 1e-6)
                total = f" / {clock(duration)}" if duration else ""
                bar.set_description_str(
                    f"{printable_name(path.name)}: {clock(at)}{total} ({speed:.1f}× real time)", refresh=False
                )
                bar.update(round(at - bar.n, 1))
                yield frame_rows(name, frame)


class JsonArrayRows:
    """Rows as one JSON list, each written as it comes; `close` ends the list, so an interrupted run is valid JSON."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.written = 0
        handle.write("[")

    def write(self, row: dict) -> None:
        self.handle.write(("\n" if self.written == 0 else ",\n") + json.dumps(row))
        self.written += 1

    def flush(self) -> None:
        self.handle.flush()

    def close(self) -> None:
        self.handle.write("\n]\n")
        self.handle.flush()


class JsonLinesRows(JsonArrayRows):
    """Rows as JSON Lines: one JSON object per line, each complete once written."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.written = 0

    def write(self, row: dict) -> None:
        self.handle.write(json.dumps(row) + "\n")
        self.written += 1

    def close(self) -> None:
        self.handle.flush()


class StopOnInterrupt:
    """The first Ctrl-C asks the loop to stop after the frame it is reading (its rows are written); a second
    one stops at once. Only in the main thread, where Python delivers signals."""

    def __init__(self) -> None:
        self.asked = False

    def __enter__(self) -> StopOnInterrupt:
        self._previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._ask)
        return self

    def _ask(self, signum: int, frame: object) -> None:
        self.asked = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __exit__(self, *exc_info: object) -> None:
        signal.signal(signal.SIGINT, self._previous)


def _open_output(args: argparse.Namespace) -> tuple[CsvRows | JsonArrayRows, str]:
    """The writer for the chosen format, and how to name where the rows go."""
    if args.csv and args.jsonl:
        raise CommandError("choose one of --csv and --jsonl")
    target = args.csv or args.jsonl
    if target is None:
        return JsonArrayRows(sys.stdout), "standard output"
    handle = sys.stdout if target == "-" else open(target, "w", newline="" if args.csv else None, encoding="utf-8")
    writer = CsvRows(handle) if args.csv else JsonLinesRows(handle)
    return writer, "standard output" if target == "-" else target


def analyze_rows(
    analyzer, files: list[Path], where: Whereabouts, stop: StopOnInterrupt, progress: bool, per_second: float
) -> Iterator[list[dict]]:
    """Rows a frame (or a photo) at a time over every file; a failed file gives one error row and the rest go on."""
    for path in tqdm(files, desc="analyzing", disable=not progress or len(files) < 2, unit="file"):
        where.file, where.frame, where.time = printable_name(path), None, None
        try:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                for rows in _video_rows(analyzer, path, where, progress, per_second):
                    yield rows
                    if stop.asked:
                        return
            else:
                yield _photo_rows(analyzer, path)
        except Exception as error:  # one file's failure, whatever it is, must not cost the others' results
            message = str(error) if isinstance(error, ImageError) else f"{printable_name(path.name)}: {error}"
            print(f"xface: {message}", file=sys.stderr)
            yield [{"file": printable_name(path), "error": message}]
        if stop.asked:
            return


def _stopped_at(where: Whereabouts, written: int, target: str) -> str:
    place = where.file
    if where.time is not None:
        place = f"{clock(where.time)} (frame {where.frame}) of {where.file}"
    return f"xface: interrupted after {place}; the {written} rows read until then are in {target}"


def command_analyze(args: argparse.Namespace) -> int:
    from xface.vision.pipeline import Analyzer

    files = list(_expand(args.paths))
    if not files:
        raise CommandError("no images or videos found in the given paths")
    analyzer = Analyzer(model=args.model, min_face_size=args.min_face_size)
    writer, target = _open_output(args)
    where, failures = Whereabouts(), 0
    try:
        with StopOnInterrupt() as stop:
            for rows in analyze_rows(analyzer, files, where, stop, args.progress, args.readings_per_second):
                for row in rows:
                    writer.write(row)
                    failures += "error" in row
                writer.flush()
    except KeyboardInterrupt:  # a second Ctrl-C: stop now, still keeping every row written
        stop.asked = True
    finally:
        writer.close()
    if stop.asked:
        print(_stopped_at(where, writer.written, target), file=sys.stderr)
        return 130
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xface", description="Read facial expressions locally.")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")
    commands = parser.add_subparsers(dest="command", required=True)

    analyze = commands.add_parser("analyze", help="per-face readings for images, folders or videos")
    analyze.add_argument("paths", nargs="+")
    analyze.add_argument("--csv", metavar="FILE", help="write CSV here instead of JSON on stdout (- for stdout)")
    analyze.add_argument("--jsonl", metavar="FILE", help="write JSON Lines here, one row a line (- for stdout)")
    analyze.add_argument(
        "--readings-per-second",
        type=float,
        default=READINGS_PER_SECOND,
        metavar="N",
        help=f"frames read per second of video (default {READINGS_PER_SECOND:g}; 0: every frame)",
    )
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

    bench = commands.add_parser("bench", help="speed and memory of the live pipeline")
    bench.add_argument("--faces-dir", default="../shared/data/faces")
    bench.add_argument("--frames", type=int, default=300, help="frames per synthetic sequence (0: none)")
    bench.add_argument("--video", metavar="FILE", help="read this video file as `analyze` does, and time it")
    bench.add_argument(
        "--video-seconds",
        type=float,
        default=20.0,
        metavar="S",
        help="without --video: time a 1280x720 25 fps clip of this length made from --faces-dir (0: none)",
    )
    bench.add_argument("--readings-per-second", type=float, default=READINGS_PER_SECOND, metavar="N")
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
