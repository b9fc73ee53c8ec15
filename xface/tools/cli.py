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
import dataclasses
import functools
import importlib
import json
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from xface.emotions import EMOTIONS, emotion_word
from xface.tools.outputs import CsvWriter, JsonLinesWriter, JsonWriter, RowWriter, SummaryWriter, closing_line
from xface.vision.images import IMAGE_SUFFIXES, ImageError, printable_name, read_picture
from xface.vision.runtime import TORCH_MODULES, TorchMissing
from xface.vision.video import (
    READINGS_PER_SECOND,
    VIDEO_SUFFIXES,
    AnalysedFrame,
    VideoFile,
    clock,
    cut_short,
    frame_rows,
)

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


def _rows(analyzer, path: Path, where: Whereabouts, stop: StopOnInterrupt, args: argparse.Namespace) -> Iterator[dict]:
    """A file's rows as they are read: a video through the stream path (`xface.vision.video`), frame by frame."""
    name = printable_name(path)
    where.file, where.frame, where.time = name, None, None
    if path.suffix.lower() in VIDEO_SUFFIXES:
        yield from _video_rows(analyzer, path, where, stop, args)
        return
    if path.exists() and not path.is_file():
        raise ImageError(f"{printable_name(path.name)}: this is not a regular file (a pipe, device or folder).")
    picture = read_picture(path)
    for face, reading in enumerate(analyzer.analyze(picture.pixels)):
        yield {"file": name, "face": face, **_in_original_pixels(reading.to_dict(), picture.scale)}


def _video_rows(
    analyzer, path: Path, where: Whereabouts, stop: StopOnInterrupt, args: argparse.Namespace
) -> Iterator[dict]:
    """Each analysed frame's rows as it is read, with a progress bar in clip time; stops after a Ctrl-C."""
    with VideoFile(path) as video:
        duration = video.info.duration
        bar = tqdm(
            total=round(duration, 1) if duration else None,
            disable=not args.progress,
            leave=False,
            bar_format="{desc} {percentage:3.0f}%|{bar}|" if duration else "{desc}",
        )
        stream = analyzer.stream()
        began = time.perf_counter()
        with bar:
            for index, at, pixels in video.frames(args.readings_per_second):
                frame = AnalysedFrame(index, at, stream.process(pixels))
                where.frame, where.time = index, at
                speed = at / max(time.perf_counter() - began, 1e-6)
                total = f" / {clock(duration)}" if duration else ""
                bar.set_description_str(
                    f"{printable_name(path.name)}: {clock(at)}{total} ({speed:.1f}× real time)", refresh=False
                )
                bar.update(round(at - bar.n, 1))
                yield from frame_rows(where.file, frame)
                if stop.asked:
                    return
        if where.time is not None and (short := cut_short(video.info, where.time)):
            print(f"xface: {short} It was read up to {clock(where.time)}.", file=sys.stderr)


def _stopped_at(where: Whereabouts, written: int, target: str) -> str:
    place = where.file
    if where.time is not None:
        place = f"{clock(where.time)} (frame {where.frame}) of {where.file}"
    return f"xface: interrupted after {place}; the {written} rows read until then are in {target}"


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
    target = printable_name(args.csv) if args.csv else "standard output"
    faces, failures, faceless, written = 0, 0, [], 0
    where, stop = Whereabouts(), StopOnInterrupt()
    try:
        with stop:
            for path in tqdm(files, desc="analyzing", disable=not args.progress or len(files) < 2, unit="file"):
                found = 0
                try:
                    for row in _rows(analyzer, path, where, stop, args):
                        writer.write(row)
                        found += 1
                        written += 1
                except Exception as error:  # one file's failure, whatever it is, must not cost the others' results
                    failures += 1
                    message = str(error) if isinstance(error, ImageError) else f"{printable_name(path.name)}: {error}"
                    print(f"xface: {message}", file=sys.stderr)
                    writer.write({"file": printable_name(path), "error": message})
                    continue
                faces += found
                if not found:
                    faceless.append(printable_name(path))
                if stop.asked:
                    break
    except KeyboardInterrupt:  # a second Ctrl-C: stop now, still keeping every row written
        stop.asked = True
    finally:
        writer.close()
    if stop.asked:
        print(_stopped_at(where, written, target), file=sys.stderr)
        return 130
    closing = closing_line(len(files), faces, faceless, failures)
    if isinstance(writer, SummaryWriter):
        print(closing)
    elif isinstance(writer, CsvWriter):
        print(f"{closing} Wrote {writer.rows} rows to {printable_name(args.csv)}.")
    return 1 if failures else 0


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
    from xface.tools.crowd_head import CrowdHeadSettings, fit_crowd_head

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
    settings = TeacherSettings(model=args.model, npz=args.npz, out=args.out, note=args.note, warps=args.warps)
    report = write_teacher(settings)
    print(json.dumps(report["validation"]))
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


def _settings_defaults(class_name: str, module_name: str = "xface.tools.train") -> Callable[[], dict]:
    """The field defaults of a settings dataclass (empty where torch is not installed)."""

    def defaults() -> dict:
        try:
            module = importlib.import_module(module_name)
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
    analyze.add_argument(
        "--readings-per-second",
        type=float,
        default=READINGS_PER_SECOND,
        metavar="N",
        help="video frames read per second of clip (0: every frame)",
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
    train.add_argument(
        "--precision",
        choices=["auto", "bfloat16", "float32"],
        help="forward-pass arithmetic; auto: bfloat16 on a GPU or a CPU with bfloat16 instructions, else float32",
    )
    train.add_argument(
        "--camera-damage", type=float, metavar="P", help="chance of each webcam/phone damage per face (0: none)"
    )
    train.add_argument(
        "--hide-mouth", type=float, metavar="P", help="share of faces with the mouth and chin covered, as by a mask"
    )
    train.add_argument("--crowd-weight", type=float, metavar="W", help="train the crowd output too, with this weight")
    train.add_argument(
        "--crowd-label-share", type=float, metavar="S", help="smooth the crowd targets toward the FER2013 label"
    )
    train.add_argument(
        "--crowd-balance", type=float, metavar="B", help="weigh crowd targets by (1 / class share) ** B (0: none)"
    )
    train.add_argument(
        "--extra-faces-crowd", action="store_true", help="the extra faces' labels train the crowd output too"
    )
    train.add_argument(
        "--teacher", dest="teachers", action="append", metavar="FILE", help="distil this teacher file (repeatable)"
    )
    train.add_argument("--label-weight", type=float, metavar="W", help="with teachers: share of the labels' targets")
    train.add_argument("--extra-faces", metavar="NPZ", help="add the training half of these aligned photo faces")
    train.set_defaults(run=command_train)

    crowd = commands.add_parser(
        "train-crowd-head",
        help="fit the crowd output (FER+ vote shares) on a trained model's frozen body (needs the train extra)",
        argument_default=argparse.SUPPRESS,
        formatter_class=functools.partial(
            HelpWithDefaults, settings=_settings_defaults("CrowdHeadSettings", "xface.tools.crowd_head")
        ),
    )
    crowd.add_argument(
        "--npz", required=True, metavar="FILE", help="FER2013 with FER+ votes, as in ../shared/data/fer2013.npz"
    )
    crowd.add_argument("--model", metavar="DIR", help="the trained model")
    crowd.add_argument("--out", metavar="DIR", help="save the model with both outputs here")
    crowd.add_argument(
        "--faces", type=int, metavar="N", help="fit on a seeded sample of this many training faces (default: all)"
    )
    crowd.add_argument(
        "--fer2013-share", type=float, metavar="S", help="smooth the crowd targets toward the FER2013 label"
    )
    crowd.add_argument(
        "--balance", type=float, metavar="B", help="weigh each face by (1 / its classes' share) ** B (0: none)"
    )
    crowd.set_defaults(run=command_train_crowd_head)

    teacher = commands.add_parser(
        "teacher", help="keep a trained model as soft targets: its probabilities on the training faces (teachers/)"
    )
    teacher.add_argument("--model", required=True, metavar="DIR", help="the trained model's folder, e.g. runs/teacher1")
    teacher.add_argument(
        "--npz", required=True, metavar="FILE", help="FER2013 with FER+ votes, as in ../shared/data/fer2013.npz"
    )
    teacher.add_argument("--out", required=True, metavar="FILE", help="the teacher file, e.g. teachers/teacher1.npz")
    teacher.add_argument("--note", default="", help="how the model was trained, kept beside its figures")
    teacher.add_argument(
        "--warps",
        default="aligned",
        metavar="SET",
        help="average each face over a set of small warps of itself, e.g. zooms-and-turns (the sets: WARP_SETS in"
        " xface/tools/views.py); aligned reads each face as the app does",
    )
    teacher.set_defaults(run=command_teacher)

    bench = commands.add_parser("bench", help="speed and memory of the live pipeline")
    bench.add_argument(
        "--faces-dir", default="../shared/data/faces", metavar="DIR", help="real photos the sequences are made from"
    )
    bench.add_argument("--frames", type=int, default=300, metavar="N", help="frames in each sequence (0: none)")
    bench.add_argument(
        "--repeats", type=int, default=3, metavar="N", help="runs of each sequence (the median is reported)"
    )
    bench.add_argument("--json", metavar="FILE", help="write the measurements here as JSON")
    bench.add_argument("--video", metavar="FILE", help="read this video file as `analyze` does, and time it")
    bench.add_argument(
        "--video-seconds",
        type=float,
        default=20.0,
        metavar="S",
        help="without --video: time a 1280x720 25 fps clip of this length made from --faces-dir (0: none)",
    )
    bench.add_argument(
        "--readings-per-second", type=float, default=READINGS_PER_SECOND, metavar="N", help="as for analyze"
    )
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
