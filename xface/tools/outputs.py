"""How `xface analyze` writes its rows as they come: a line a face for people, or JSON, JSON Lines or CSV for
programs. Each writer takes a row at a time and is closed even on Ctrl-C, so what was written stays valid."""

from __future__ import annotations

import json
from typing import TextIO

from xface.emotions import emotion_word
from xface.vision.video import CsvRows


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
    """CSV, a face a row, with the fixed columns of ``xface.vision.video.CSV_COLUMNS`` (photos leave frame and time
    empty); failed files are left out, as they have their line on stderr."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.handle = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self.csv = CsvRows(self.handle)

    @property
    def rows(self) -> int:
        return self.csv.written

    def write(self, row: dict) -> None:
        self.csv.write(row)

    def close(self) -> None:
        self.csv.close()
        self.handle.close()


def summary_line(row: dict) -> str:
    """ "photos/a.jpg  face 1  box 120,80-260,240  happy 87 %  Mouth: corners pulled up." (video: frame and time)."""
    from xface.teach.explain import cue_line

    where = f"frame {row['frame']} at {row['time']:.2f} s  " if "frame" in row else ""
    face = f"face {row['face'] + 1}" + (f" (id {row['face_id']})" if "face_id" in row else "")
    x1, y1, x2, y2 = (round(value) for value in row["box"])
    reading = f"{emotion_word(row['emotion'])} {row['confidence']:.0%}".replace("%", " %")
    cues = cue_line(row.get("cues"), most=2, typical=row.get("cues_against_typical", True))
    return f"{row['file']}  {where}{face}  box {x1},{y1}-{x2},{y2}  {reading}  {cues}"


def closing_line(files: int, faces: int, faceless: list[str], failures: int) -> str:
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
