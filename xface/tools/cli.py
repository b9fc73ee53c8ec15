"""The `xface` command: analyze, evaluate, train, bench.

`xface analyze` prints a line a face for people; `--json`, `--jsonl` and `--csv FILE` are for
programs. Every format writes rows as they come (`RowWriter`), so a long video's first faces show
before its last frame is read. Global options (`--no-progress`) work before or after the subcommand.

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
import functools
import importlib
import json
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from xface.emotions import EMOTIONS, emotion_word
from xface.vision.cues import CUE_NAMES
from xface.vision.images import IMAGE_SUFFIXES, ImageError, printable_name, read_picture
from xface.vision.runtime import TORCH_MODULES, TorchMissing

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


class RowWriter:
    """Writes per-face rows as they come: `write` each (a row with "error" is a file that failed), then `close`."""

    def write(self, row: dict) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Ends the output (a JSON list's bracket, a file's last bytes)."""


class SummaryWriter(RowWriter):
    """A line a face, for people: file, face, box, the reading in Xface's words, confidence and the top cues."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, row: dict) -> None:
        if "error" not in row:  # a failed file already has its line on stderr
            print(summary_line(row), file=self.out, flush=True)


class JsonWriter(RowWriter):
    """One JSON list, a face to a line (failed files as {"file", "error"} entries)."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.rows = out, 0

    def write(self, row: dict) -> None:
        self.out.write(("[\n" if self.rows == 0 else ",\n") + json.dumps(row))
        self.out.flush()
        self.rows += 1

    def close(self) -> None:
        self.out.write("\n]\n" if self.rows else "[]\n")


class JsonLinesWriter(RowWriter):
    """JSON Lines: one JSON object a line, a face or a failed file."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, row: dict) -> None:
        self.out.write(json.dumps(row) + "\n")
        self.out.flush()


class CsvWriter(RowWriter):
    """CSV, a face a row (failed files left out: they have their line on stderr). The columns are CSV_FIELDS,
    then p_<emotion> and cues_<cue>, then any other nested dict of the first row."""

    def __init__(self, path: str) -> None:
        self.path, self.rows = path, 0
        self.handle = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self.writer: csv.DictWriter | None = None

    def write(self, row: dict) -> None:
        if "error" in row:
            return
        flat = _flat(row)
        if self.writer is None:
            known = [f"p_{name}" for name in EMOTIONS] + [f"cues_{name}" for name in CUE_NAMES]
            fields = list(dict.fromkeys(CSV_FIELDS + known + list(flat)))
            self.writer = csv.DictWriter(self.handle, fieldnames=fields, restval="", extrasaction="ignore")
            self.writer.writeheader()
        self.writer.writerow(flat)
        self.rows += 1

    def close(self) -> None:
        if self.writer is None:
            csv.writer(self.handle).writerow(CSV_FIELDS)
        self.handle.close()


def summary_line(row: dict) -> str:
    """ "photos/a.jpg  face 1  box 120,80-260,240  happy 87 %  Mouth: corners pulled up." (video: frame and time)."""
    from xface.teach.explain import cue_line

    where = f"frame {row['frame']} at {row['time']:.2f} s  " if "frame" in row else ""
    face = f"face {row['face'] + 1}" + (f" (id {row['face_id']})" if "face_id" in row else "")
    x1, y1, x2, y2 = (round(value) for value in row["box"])
    reading = f"{emotion_word(row['emotion'])} {row['confidence']:.0%}".replace("%", " %")
    return f"{row['file']}  {where}{face}  box {x1},{y1}-{x2},{y2}  {reading}  {cue_line(row.get('cues'), most=2)}"


def open_writer(args: argparse.Namespace) -> RowWriter:
    """The writer for the format asked for: --json, --jsonl, --csv FILE, or the summary."""
    if args.csv:
        return CsvWriter(args.csv)
    if args.json:
        return JsonWriter(sys.stdout)
    if args.jsonl:
        return JsonLinesWriter(sys.stdout)
    return SummaryWriter(sys.stdout)


def command_analyze(args: argparse.Namespace) -> int:
    from xface.vision.pipeline import Analyzer

    files = list(_expand(args.paths))
    if not files:
        raise CommandError("no images or videos found in the given paths")
    analyzer = Analyzer(model=args.model, min_face_size=args.min_face_size)
    writer = open_writer(args)
    faces, failures, faceless = 0, 0, []
    try:
        for path in tqdm(files, desc="analyzing", disable=not args.progress, unit="file"):
            found = 0
            try:
                for row in _rows(analyzer, path):
                    writer.write(row)
                    found += 1
            except Exception as error:  # one file's failure, whatever it is, must not cost the others' results
                failures += 1
                message = str(error) if isinstance(error, ImageError) else f"{printable_name(path.name)}: {error}"
                print(f"xface: {message}", file=sys.stderr)
                writer.write({"file": printable_name(path), "error": message})
                continue
            faces += found
            if not found:
                faceless.append(printable_name(path))
    finally:
        writer.close()
    closing = _closing_line(len(files), faces, faceless, failures)
    if isinstance(writer, SummaryWriter):
        print(closing)
    elif isinstance(writer, CsvWriter):
        print(f"{closing} Wrote {writer.rows} rows to {printable_name(args.csv)}.")
    return 1 if failures else 0


def _closing_line(files: int, faces: int, faceless: list[str], failures: int) -> str:
    """ "12 faces in 3 files. No face in: a.jpg. 1 file could not be read." """

    def count(number: int, noun: str) -> str:
        return f"{number} {noun}{'' if number == 1 else 's'}"

    parts = [f"{count(faces, 'face')} in {count(files, 'file')}."]
    if faceless:
        shown = ", ".join(faceless[:5]) + (f" and {len(faceless) - 5} more" if len(faceless) > 5 else "")
        parts.append(f"No face in {shown}.")
    if failures:
        parts.append(f"{count(failures, 'file')} could not be read.")
    return " ".join(parts)


def command_evaluate(args: argparse.Namespace) -> int:
    from xface.tools.evaluate import evaluate_detection, evaluate_npz, format_detection, format_report, write_report
    from xface.vision.classifier import load_classifier

    if args.photos:
        from xface.tools.evaluate import evaluate_photos, format_photos, labelled_photos
        from xface.vision.pipeline import Analyzer

        try:
            photos = labelled_photos(args.photos)
        except ValueError as error:
            raise CommandError(str(error)) from None
        results = evaluate_photos(Analyzer(args.model, flip_average=not args.no_flip), photos, progress=args.progress)
        print(format_photos(results))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return 0
    if args.detection:
        if not Path(args.detection).is_dir():
            raise CommandError(f"no such folder: {args.detection}")
        results = evaluate_detection(args.detection, progress=args.progress)
        print(format_detection(results))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return 0
    if not args.npz:
        raise CommandError("say what to evaluate: --npz FILE, --photos DIR (labelled photos) or --detection DIR")
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


class HelpWithDefaults(argparse.HelpFormatter):
    """Help that ends each option's text with its default. Options whose default lives in a settings dataclass
    (train's, left out of `args` so that the dataclass stays the one source) show the dataclass's value."""

    def __init__(self, prog: str, settings: Callable[[], dict] | None = None) -> None:
        super().__init__(prog, max_help_position=30, width=min(110, shutil.get_terminal_size().columns))
        self._settings = settings

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or "%(default)" in text or "default:" in text:
            return text
        default = action.default
        if default is argparse.SUPPRESS and self._settings is not None:
            default = self._settings().get(action.dest, argparse.SUPPRESS)
        if default is argparse.SUPPRESS or default is None or isinstance(default, bool):
            return text
        return f"{text} (default: {str(default).replace('%', '%%')})"


def _settings_defaults(class_name: str) -> Callable[[], dict]:
    """The field defaults of a settings dataclass in xface.tools.train (empty where torch is not installed)."""

    def defaults() -> dict:
        try:
            module = importlib.import_module("xface.tools.train")
        except ModuleNotFoundError:
            return {}
        fields = dataclasses.fields(getattr(module, class_name))
        return {field.name: field.default for field in fields if field.default is not dataclasses.MISSING}

    return defaults


def _add_global_options(parser: argparse.ArgumentParser, default: object) -> None:
    """The options every subcommand takes, before or after its name."""
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", default=default, help="hide the progress bars"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xface",
        description="Read facial expressions locally: nothing is downloaded or sent anywhere.",
        epilog="Run `xface COMMAND --help` for a command's options. Emotion labels in JSON and CSV: "
        + ", ".join(f"{label} ({emotion_word(label)})" for label in EMOTIONS)
        + ".",
        formatter_class=HelpWithDefaults,
    )
    _add_global_options(parser, default=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    analyze = commands.add_parser(
        "analyze",
        help="read every face in photos, folders or videos",
        description="Read every face in photos, folders (searched recursively) or videos. By default a line a "
        "face for people: file, face, box, the reading, how sure, the strongest cues. For programs: --json, "
        "--jsonl or --csv FILE, with the emotion labels angry, disgust, fear, happy, sad, surprise, neutral.",
    )
    analyze.add_argument("paths", nargs="+", metavar="PATH", help="a photo, a video, or a folder of them")
    output = analyze.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON list, a face a line, instead")
    output.add_argument("--jsonl", action="store_true", help="print JSON Lines, a face a line, instead")
    output.add_argument("--csv", metavar="FILE", help="write CSV here, a face a row (videos: a face a frame)")
    analyze.add_argument(
        "--model", metavar="DIR", help="a local checkpoint folder (default: the bundled models/xface-vit)"
    )
    analyze.add_argument(
        "--min-face-size", type=int, default=20, metavar="PX", help="smallest face to look for, in pixels"
    )
    analyze.set_defaults(run=command_analyze)

    evaluate = commands.add_parser("evaluate", help="accuracy and confusion matrix on an .npz split")
    evaluate.add_argument("--npz", metavar="FILE", help="expression accuracy on this .npz (FER2013 with FER+ votes)")
    evaluate.add_argument(
        "--detection", metavar="DIR", help="face detection recall on photos with a boxes.csv, against plain MTCNN"
    )
    evaluate.add_argument(
        "--photos",
        metavar="DIR",
        help="both outputs on labelled photos through the whole pipeline (folders named by emotion, or a labels CSV)",
    )
    evaluate.add_argument("--split", default="val", metavar="NAME", help="which split of the .npz: train or val")
    evaluate.add_argument(
        "--model", metavar="DIR", help="a local checkpoint folder (default: the bundled models/xface-vit)"
    )
    evaluate.add_argument("--report", metavar="DIR", help="write metrics, report and confusion pictures here")
    evaluate.add_argument("--json", metavar="FILE", help="write the metrics here as JSON")
    evaluate.add_argument("--no-flip", action="store_true", help="no mirrored second look (test-time augmentation)")
    evaluate.set_defaults(run=command_evaluate)

    train = commands.add_parser(
        "train",
        help="train the expression transformer (resumes in --out; needs the train extra)",
        argument_default=argparse.SUPPRESS,
        formatter_class=functools.partial(HelpWithDefaults, settings=_settings_defaults("TrainSettings")),
    )
    train.add_argument(
        "--npz", required=True, metavar="FILE", help="FER2013 with FER+ votes, as in ../shared/data/fer2013.npz"
    )
    train.add_argument("--out", default="runs/xface-vit", metavar="DIR", help="where the model and its log go")
    train.add_argument("--epochs", type=int, metavar="N", help="length of the learning-rate schedule")
    train.add_argument("--batch-size", type=int, metavar="N", help="faces a step")
    train.add_argument(
        "--learning-rate", type=float, metavar="RATE", help="peak learning rate (AdamW, cosine schedule)"
    )
    train.add_argument(
        "--ferplus-weight",
        type=float,
        metavar="SHARE",
        help="share of the FER+ crowd-vote distribution in each target (the rest: the FER2013 label)",
    )
    train.add_argument("--seed", type=int, metavar="N", help="seed for the shuffles and augmentation")
    train.add_argument("--threads", type=int, metavar="N", help="CPU threads torch uses")
    train.add_argument(
        "--limit", type=int, metavar="N", help="train on a random subset of this many faces (smoke runs)"
    )
    train.add_argument(
        "--stop-after", type=int, metavar="N", help="end after epoch N, keeping the --epochs learning-rate schedule"
    )
    train.add_argument("--init", metavar="DIR", help="start from this saved model (fine-tune) instead of from scratch")
    train.add_argument(
        "--drop-path", dest="drop_path_rate", type=float, metavar="RATE", help="stochastic depth rate of the last layer"
    )
    train.add_argument("--dropout", type=float, metavar="RATE", help="dropout in the transformer's layers")
    train.add_argument(
        "--erase",
        dest="erase_probability",
        type=float,
        metavar="SHARE",
        help="share of training faces with a random erased patch",
    )
    train.add_argument("--average-last", type=int, metavar="N", help="save the average of the last N epochs' weights")
    train.add_argument("--device", help='where the model trains: "cpu" or "cuda"')
    train.set_defaults(run=command_train)

    crowd = commands.add_parser(
        "train-crowd-head",
        help="fit the crowd output (FER+ vote shares) on a trained model's frozen body (needs the train extra)",
        argument_default=argparse.SUPPRESS,
        formatter_class=functools.partial(HelpWithDefaults, settings=_settings_defaults("CrowdHeadSettings")),
    )
    crowd.add_argument(
        "--npz", required=True, metavar="FILE", help="FER2013 with FER+ votes, as in ../shared/data/fer2013.npz"
    )
    crowd.add_argument("--model", metavar="DIR", help="the trained model")
    crowd.add_argument("--out", metavar="DIR", help="save the model with both outputs here")
    crowd.add_argument("--limit", type=int, metavar="N", help="fit on this many training faces")
    crowd.set_defaults(run=command_train_crowd_head)

    bench = commands.add_parser("bench", help="speed and memory of the live pipeline")
    bench.add_argument(
        "--faces-dir", default="../shared/data/faces", metavar="DIR", help="real photos the sequences are made from"
    )
    bench.add_argument("--frames", type=int, default=300, metavar="N", help="frames in each sequence")
    bench.add_argument(
        "--repeats", type=int, default=3, metavar="N", help="runs of each sequence (the median is reported)"
    )
    bench.add_argument("--json", metavar="FILE", help="write the measurements here as JSON")
    bench.add_argument(
        "--threads", type=int, metavar="N", help="threads per network (default: as many as the app uses)"
    )
    bench.add_argument("--cold-start", action="store_true", help="also time `streamlit run` to the first page")
    bench.add_argument("--soak", type=int, default=0, metavar="N", help="then push N frames through the live path")
    bench.add_argument("--record", action="store_true", help="record the soak into a temporary journal")
    bench.add_argument(
        "--soak-fps", type=float, default=30.0, metavar="FPS", help="camera rate for the soak (0: as fast as taken)"
    )
    bench.set_defaults(run=lambda args: __import__("xface.tools.bench", fromlist=["main"]).main(args))
    __import__("xface.tools.teaching_check", fromlist=["add_parser"]).add_parser(commands)

    for command in commands.choices.values():  # after every subcommand, whoever added it
        _add_global_options(command, default=argparse.SUPPRESS)  # SUPPRESS: `xface --no-progress CMD` still counts
        if command.formatter_class is argparse.HelpFormatter:
            command.formatter_class = HelpWithDefaults
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CommandError, ImageError, FileNotFoundError, ValueError) as error:
        print(f"xface: error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        if error.name not in TORCH_MODULES:
            raise
        if not isinstance(error, TorchMissing):
            error = TorchMissing(f"xface {args.command}", error.name)
        print(f"xface: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xface: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
