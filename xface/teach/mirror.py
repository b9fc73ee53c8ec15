"""Mirror practice without the page: Xface asks for an expression, and coaches the person's own face towards it.

Making the face yourself is practice that helped in studies of facial-expression training (Let's
Face It!, SmileMaze, Superpower Glass's "capture the smile"). A round goes through the seven
expressions in ``ORDER``:

1. **Baseline.** The person holds a relaxed face for a few seconds (at least ``BASELINE_S``) while
   the stream learns it (``LiveSession.capture_baseline``), so every cue then measures change on
   *this* face, not against a typical one.
2. **Coaching.** For the asked expression, the tips name what to move, from both Xface's reading and
   the measured cues (``FaceReading.cues``, against the cues that carry it,
   ``xface.vision.cues.EMOTION_CUES``). In this order:

   a. while Xface reads *another* expression, what makes the face look like it: the strongest cue of
      that expression that the asked one does not need ("Let your smile go"), or, when no single cue
      stands out, "Let your whole face rest" (for a neutral target);
   b. a cue of the asked expression that is missing gets "Raise your brows", one on its way "Raise
      your brows higher", and once the first cue is there the next one reads "Now let your cheeks rise"
      ("Good." before it only while Xface reads the asked expression or nothing in particular);
   c. other cues that work against it ("Close your mouth").

   No tip ever undoes a cue the asked expression needs (each "rest" tip names its own cue only, and is
   never given for a cue the expression needs or often shows, ``ALLOWED_WITH``), and "Good. Hold it
   there." comes only while Xface reads the asked expression.
3. **Success** when Xface reads the asked expression clearly (the "clear" band of
   ``xface.teach.explain``) for ``HOLD_S`` (about a second) without a break. It shows for ``SUCCESS_SHOW_S``,
   then the next expression comes. A person may skip an expression, or end the round.

Each expression tried becomes a ``MirrorResult`` for the journal (``Journal.add_mirror_result``):
numbers only, never a picture. ``MirrorPractice`` joins a coach to a ``LiveSession`` (which
analyses the camera frames off the video thread); the page calls its ``update`` a few times a second.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from xface.emotions import EMOTIONS, emotion_word
from xface.journal.store import Journal
from xface.teach.explain import describe, show_at
from xface.vision.cues import EMOTION_CUES, goes_with
from xface.vision.pipeline import FaceReading

__all__ = [
    "BASELINE_S",
    "HOLD_S",
    "ORDER",
    "MirrorCoach",
    "MirrorPractice",
    "MirrorResult",
    "MirrorStatus",
    "coaching_tips",
    "prompt",
    "store_results",
]

ORDER: tuple[str, ...] = ("happy", "surprise", "sad", "angry", "disgust", "fear", "neutral")
"""Easiest first (a smile, then surprise); a resting face last, to end relaxed."""
BASELINE_S = 3.0
"""Seconds of a relaxed face before coaching starts (the stream also needs enough measured frames)."""
HOLD_S = 1.0
"""Seconds the asked expression must be read clearly, without a break, to count."""
SUCCESS_SHOW_S = 2.0
"""Seconds the success message stays before the next expression."""
CUE_THERE = 0.35
"""A cue at least this strong counts as shown (cues run from 0, relaxed, to 1, as strong as faces get)."""
CUE_ON_ITS_WAY = 0.12
"""A cue at least this strong but not yet there gets "more" instead of a first instruction."""
CUE_AGAINST = 0.45
"""A cue that does not belong to the expression and is at least this strong gets a "let it rest" tip."""
MAX_TIPS = 2
"""Tips at once: more is too much to follow while making a face."""

TIPS: dict[str, tuple[str, str, str]] = {
    "brow_raise": ("Raise your brows", "Raise your brows higher", "now raise your brows"),
    "brow_lower": ("Pull your brows down and together", "Pull your brows down a bit more", "now pull your brows down"),
    "upper_lid_raise": ("Open your eyes wide", "Open your eyes wider", "now open your eyes wide"),
    "cheek_raise": ("Let your cheeks rise", "Let your cheeks rise more", "now let your cheeks rise"),
    "nose_wrinkle": ("Wrinkle your nose", "Wrinkle your nose more", "now wrinkle your nose"),
    "lip_corner_pull": ("Pull the corners of your mouth up", "Smile wider", "now smile"),
    "lip_corner_depress": (
        "Turn the corners of your mouth down",
        "Turn your mouth corners down a bit more",
        "now turn your mouth corners down",
    ),
    "lip_stretch": ("Stretch your lips back toward your ears", "Stretch your lips back more", "now stretch your lips"),
    "lip_press": ("Press your lips together", "Press your lips tighter", "now press your lips together"),
    "jaw_drop": ("Open your mouth", "Open your mouth wider", "now open your mouth"),
}
"""Per cue: the first instruction, the one for a cue on its way, and the one after an earlier cue is there."""
RELAX: dict[str, str] = {
    "brow_raise": "Let your brows come down",
    "brow_lower": "Let go of the frown",
    "upper_lid_raise": "Let your eyes rest",
    "cheek_raise": "Let your cheeks drop",
    "nose_wrinkle": "Let your nose go smooth",
    "lip_corner_pull": "Let your smile go",
    "lip_corner_depress": "Keep the corners of your mouth level",
    "lip_stretch": "Let your lips go loose",
    "lip_press": "Let your lips go soft",
    "jaw_drop": "Close your mouth",
}
"""For a cue that works against the expression asked for. Each names its own cue only, so that letting it
rest never undoes another (no "Let your mouth rest" while the mouth must stay open). Only for cues the words
would name against the person's own face (`xface.teach.explain.show_at`): a laugh measures as lip corners turned
down and crying as a wrinkled nose often enough that "Keep the corners of your mouth level" would be a wrong lesson."""
REST_ALL = "Let your whole face rest"
"""When Xface reads another expression and no single cue of it stands out (a neutral target)."""
HOLD = "Good. Hold it there."
KEEP_GOING = "Keep going: hold the look for Xface"
"""When every cue is in place but Xface does not read the asked expression yet."""


def prompt(target: str) -> str:
    """What Xface asks for: "Look surprised"."""
    if target == "neutral":
        return "Look neutral: let your whole face rest"
    return f"Look {emotion_word(target)}"


def coaching_tips(target: str, cues: Mapping[str, float] | None, reads: str | None = None) -> list[str]:
    """Up to MAX_TIPS things to change, from the cues measured on the face now and what Xface reads
    (`reads`, None when it reads nothing in particular); rules in the module docstring."""
    if target not in EMOTIONS:
        raise ValueError(f"An expression is one of {', '.join(EMOTIONS)}, not {target!r}.")
    if reads is not None and reads not in EMOTIONS:
        raise ValueError(f"An expression is one of {', '.join(EMOTIONS)}, not {reads!r}.")
    if cues is None:
        return ["Xface can't see the points of your face right now. Face the camera, in good light."]
    other = reads is not None and reads != target
    keep = set(goes_with(target))  # needed or often shown: never told to rest
    keep |= {name for name in RELAX if not math.isfinite(show_at(name, typical=False))}  # too unsure to correct
    tips: list[str] = []
    if other:
        away = sorted(
            (n for n in EMOTION_CUES[reads] if n not in keep and float(cues.get(n, 0.0)) >= CUE_ON_ITS_WAY),
            key=lambda n: -float(cues[n]),
        )
        if away:
            tips.append(RELAX[away[0]])
        elif target == "neutral":
            tips.append(REST_ALL)
    earlier_there = False
    for name in EMOTION_CUES[target][:3]:
        value = float(cues.get(name, 0.0))
        first, more, now = TIPS[name]
        if value >= CUE_THERE:
            earlier_there = True
            continue
        if earlier_there:
            tip = f"Now {now[4:]}" if other else f"Good. {now[0].upper()}{now[1:]}"
        else:
            tip = more if value >= CUE_ON_ITS_WAY else first
        tips.append(tip)
    against = sorted(
        (name for name in cues if name not in keep and float(cues[name]) >= CUE_AGAINST), key=lambda n: -float(cues[n])
    )
    for name in against:
        if RELAX[name] not in tips:
            tips.append(RELAX[name])
    if not tips:
        return [KEEP_GOING if other else HOLD]
    return tips[:MAX_TIPS]


@dataclass(frozen=True)
class MirrorResult:
    """One expression tried: whether Xface read it clearly, after how long, and the best it got."""

    target: str
    succeeded: bool
    seconds: float | None
    """From the first coaching tip to success; None when not reached."""
    best_confidence: float
    """The highest probability Xface gave the asked expression during the try."""


@dataclass(frozen=True)
class MirrorStatus:
    """What the page shows now."""

    phase: str
    """'baseline', 'coaching', 'success' or 'done'."""
    target: str | None
    position: int
    """Which expression of the round (0-based)."""
    total: int
    prompt: str
    tips: tuple[str, ...] = ()
    progress: float = 0.0
    """Baseline: share of the relaxed seconds done. Coaching: share of the second held."""
    face_seen: bool = False
    reads: str | None = None
    """How Xface reads the face now: "Looks happy (95% sure)"."""
    best_confidence: float = 0.0
    results: tuple[MirrorResult, ...] = field(default_factory=tuple)


class MirrorCoach:
    """The round's state machine: fed one reading at a time, with the time its frame was taken."""

    def __init__(
        self, targets: tuple[str, ...] = ORDER, hold_s: float = HOLD_S, baseline_s: float = BASELINE_S
    ) -> None:
        if not targets or any(target not in EMOTIONS for target in targets):
            raise ValueError(f"Targets are some of {', '.join(EMOTIONS)}.")
        self.targets = targets
        self.hold_s = hold_s
        self.baseline_s = baseline_s
        self.phase = "baseline"
        self.position = 0
        self.results: list[MirrorResult] = []
        self._taken = 0
        self._baseline_since: float | None = None
        self._target_since: float | None = None
        self._clear_since: float | None = None
        self._success_at: float | None = None
        self._best = 0.0
        self._last: FaceReading | None = None
        self._last_at: float | None = None
        self.capture_due = True
        """The stream should start learning the relaxed face (the page asks the LiveSession, then clears this)."""

    @property
    def target(self) -> str | None:
        return self.targets[self.position] if self.phase != "done" else None

    def restart_baseline(self) -> None:
        """Learn the relaxed face again (the person moved, or the light changed); the same expression follows."""
        if self.phase == "done":
            return
        self.phase = "baseline"
        self._baseline_since = None
        self.capture_due = True

    def observe(self, reading: FaceReading | None, baseline_ready: bool, at: float) -> None:
        """One analysed frame: the person's face (the largest), whether its baseline is learnt, and the frame's time."""
        if self._last_at is not None and at <= self._last_at:
            return  # the same frame again
        self._last, self._last_at = reading, at
        if self.phase == "baseline":
            self._observe_baseline(reading, baseline_ready, at)
        elif self.phase == "coaching":
            self._observe_coaching(reading, at)
        elif self.phase == "success" and at - self._success_at >= SUCCESS_SHOW_S:
            self._next(at)

    def _observe_baseline(self, reading: FaceReading | None, baseline_ready: bool, at: float) -> None:
        if reading is None:
            self._baseline_since = None  # a relaxed face, in view, without a break
            return
        if self._baseline_since is None:
            self._baseline_since = at
        held = at - self._baseline_since >= self.baseline_s
        if held and (baseline_ready or reading.cues is None):  # without face points there is nothing to learn
            self.phase = "coaching"
            self._start_target(at)

    def _start_target(self, at: float) -> None:
        self._target_since = at
        self._clear_since = None
        self._best = 0.0

    def _observe_coaching(self, reading: FaceReading | None, at: float) -> None:
        target = self.targets[self.position]
        if reading is None:
            self._clear_since = None
            return
        self._best = max(self._best, float(reading.probs.get(target, 0.0)))
        explanation = describe(reading.probs, top=reading.emotion)
        if explanation.emotion == target and explanation.band == "clear":
            self._clear_since = self._clear_since if self._clear_since is not None else at
            if at - self._clear_since >= self.hold_s:
                self.results.append(MirrorResult(target, True, round(at - self._target_since, 2), self._best))
                self.phase, self._success_at = "success", at
        else:
            self._clear_since = None

    def _next(self, at: float) -> None:
        self.position += 1
        if self.position >= len(self.targets):
            self.phase = "done"
            return
        self.phase = "coaching"
        self._start_target(at)

    def skip(self, at: float) -> None:
        """Go on to the next expression; this one counts as tried, not reached."""
        if self.phase != "coaching":
            return
        self.results.append(MirrorResult(self.targets[self.position], False, None, self._best))
        self._next(at)

    def end(self) -> None:
        """Stop the round; an expression being coached counts as tried, not reached."""
        if self.phase == "coaching":
            self.results.append(MirrorResult(self.targets[self.position], False, None, self._best))
        self.phase = "done"

    def take_results(self) -> list[MirrorResult]:
        """Results not handed out yet (for the journal), oldest first."""
        fresh = self.results[self._taken :]
        self._taken = len(self.results)
        return fresh

    def status(self, at: float) -> MirrorStatus:
        face = self._last
        target = self.target
        reads = None
        if face is not None:
            explanation = describe(face.probs, top=face.emotion)
            reads = f"{explanation.headline} ({explanation.confidence:.0%} sure)"
        common = {
            "position": min(self.position, len(self.targets)),
            "total": len(self.targets),
            "face_seen": face is not None,
            "reads": reads,
            "results": tuple(self.results),
        }
        if self.phase == "done":
            return MirrorStatus("done", None, prompt="Round done", **common)
        if self.phase == "baseline":
            done = 0.0 if self._baseline_since is None else (at - self._baseline_since) / self.baseline_s
            return MirrorStatus(
                "baseline", target, prompt="First, let your face rest", progress=min(done, 1.0), **common
            )
        if self.phase == "success":
            return MirrorStatus(
                "success", target, prompt=prompt(target), progress=1.0, best_confidence=self._best, **common
            )
        held = 0.0 if self._clear_since is None else (at - self._clear_since) / self.hold_s
        tips = tuple(coaching_tips(target, face.cues, reads=face.emotion)) if face is not None else ()
        return MirrorStatus(
            "coaching",
            target,
            prompt=prompt(target),
            tips=tips,
            progress=min(held, 1.0),
            best_confidence=self._best,
            **common,
        )


def largest(readings: Sequence[FaceReading]) -> FaceReading | None:
    """The face nearest the camera: the person practising (others in the picture are ignored)."""
    return max(readings, key=lambda r: (r.box[2] - r.box[0]) * (r.box[3] - r.box[1]), default=None)


class CameraSnapshot(Protocol):
    """The latest analysis of the camera: what the coach reads from it."""

    @property
    def stream_started(self) -> float | None: ...
    @property
    def analysed_at(self) -> float | None: ...
    @property
    def readings(self) -> Sequence[FaceReading]: ...


class CameraFeed(Protocol):
    """What the coach needs from the camera's engine (the app's ``LiveSession`` is one), so that teaching
    never depends on the web app."""

    clock: Callable[[], float]

    def snapshot(self) -> CameraSnapshot: ...
    def capture_baseline(self) -> None: ...
    def baseline_ready(self, face_id: int) -> bool: ...


class MirrorPractice:
    """A coach fed from a camera feed's latest analysis; ``update`` is called by the page a few times a second."""

    def __init__(self, live: CameraFeed, coach: MirrorCoach | None = None) -> None:
        self.live = live
        self.coach = coach or MirrorCoach()
        self._captured_for: float | None = None
        """The camera session (its first frame's time) whose relaxed face is being learnt."""

    def update(self) -> MirrorStatus:
        snapshot = self.live.snapshot()
        now = self.live.clock()
        if snapshot.stream_started is not None and snapshot.stream_started != self._captured_for:
            self.coach.restart_baseline()  # a new camera session: learn the face afresh
            self._captured_for = snapshot.stream_started
        if self.coach.capture_due and snapshot.stream_started is not None:
            self.live.capture_baseline()
            self.coach.capture_due = False
        if snapshot.analysed_at is not None:
            face = largest(snapshot.readings)
            ready = face is not None and face.face_id is not None and self.live.baseline_ready(face.face_id)
            self.coach.observe(face, ready, snapshot.analysed_at)
        return self.coach.status(now)


def store_results(journal: Journal, session_id: int | None, results: list[MirrorResult]) -> int | None:
    """Write results to the journal, opening a 'mirror' session with the first one; returns the session."""
    for result in results:
        if session_id is None:
            session_id = journal.start_session("mirror")
        journal.add_mirror_result(session_id, result.target, result.succeeded, result.seconds, result.best_confidence)
    return session_id
