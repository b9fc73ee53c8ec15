"""Journal rows → Altair charts. Pure functions: rows in, chart out, nothing read or written.

The inputs are the lists of dicts that ``Journal`` returns. Counting and grouping by day or week is
done here, in the person's local time, so each chart carries small, checkable data. The rules that
keep the charts honest:

* **One colour per emotion everywhere** (``PALETTE``, Okabe–Ito, readable with colour blindness). A
  check-in's core feeling takes the colour of the expression it maps to (afraid → fear's colour),
  so "afraid" looks the same in the mood chart and in the quiz chart.
* **Every rate carries its count**: "3 of 4", never 75 % alone.
* **Mood is pleasantness and energy** (the Mood Meter), each from -2 to +2, one point per check-in.
  Check-ins at the same level on the same day are spread apart a little (the tooltip keeps the
  true value), so two of them never look like one.
* **A line only where there is enough data** (``SMOOTH_RULE``): the line is the mean of the check-ins
  in a 7-day window centred on each day that has check-ins, drawn only where that window holds at
  least ``SMOOTH_MIN`` check-ins, and broken across gaps longer than ``SMOOTH_MAX_GAP_DAYS`` days.
  So it never joins single points days apart.
* **Weekly views are labelled by week** ("Week of 03 Nov", weeks start on Monday).
* **Faces you read** (quiz, live) and **your own face** (mirror practice) are separate charts.

No chart relies on colour alone: points have shapes, bars are labelled, matrix cells show counts.
Empty input gives a chart that says there is nothing yet, never an error.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import altair as alt

from xface.emotions import EMOTIONS, canonical_emotion, emotion_word
from xface.journal.feelings import ENERGY, FEELINGS_WHEEL, PLEASANTNESS

__all__ = [
    "MOOD_AXES",
    "PALETTE",
    "PERIODS",
    "SMOOTH_RULE",
    "confusion_matrix",
    "expressions_over_time",
    "expressions_per_session",
    "feeling_colour",
    "mirror_practice",
    "mood_calendar",
    "mood_over_time",
    "live_guesses",
    "quiz_accuracy_by_emotion",
    "quiz_accuracy_over_time",
]

PERIODS = ("day", "week")

PALETTE: dict[str, str] = {
    "angry": "#D55E00",
    "disgust": "#009E73",
    "fear": "#CC79A7",
    "happy": "#E69F00",
    "sad": "#0072B2",
    "surprise": "#56B4E9",
    "neutral": "#999999",
    "tired": "#6F4E37",
    "own words": "#000000",
}
"""The one colour of each emotion in every chart (Okabe–Ito); "tired" and "own words" are check-in feelings
with no expression."""

PLEASANTNESS_COLOURS = ["#b2182b", "#ef8a62", "#e0e0e0", "#67a9cf", "#2166ac"]
"""Daily pleasantness in the calendar, -2 (red) to +2 (blue): a diverging, colour-blind-safe scale."""

SMOOTH_WINDOW_DAYS = 7
SMOOTH_MIN = 3
SMOOTH_MAX_GAP_DAYS = 2
SMOOTH_RULE = (
    f"The line is the mean over {SMOOTH_WINDOW_DAYS} days. It shows only where those days hold at least "
    f"{SMOOTH_MIN} check-ins, and it breaks over gaps of more than {SMOOTH_MAX_GAP_DAYS} days."
)
"""When the mood chart draws a line, in words the page shows under it."""

_RANK = {emotion: rank for rank, emotion in enumerate(EMOTIONS)}
_MIN_LABELLED_SHARE = 0.12
_DODGE = 0.18
"""How far apart (in scale steps) check-ins at the same level on the same day are drawn."""
FEELING_SHAPES = ("circle", "square", "cross", "diamond", "triangle-up", "triangle-down", "triangle-right",
                  "triangle-left", "wedge")  # fmt: skip
"""A symbol per core feeling and "own words" (a shape scale from the data listed 4 of 9 in the legend)."""


def _word(emotion: str) -> str:
    """The one word the app uses for an emotion ("fear" → "afraid"); other keys stay as they are."""
    return emotion_word(emotion) if emotion in EMOTIONS else emotion


def _emotion_scale(domain: Iterable[str] | None = None) -> alt.Scale:
    """Colours keyed by the emotion words the charts show, so every chart says "afraid", never "fear"."""
    keys = list(domain) if domain is not None else list(EMOTIONS)
    return alt.Scale(domain=[_word(key) for key in keys], range=[PALETTE[key] for key in keys])


def feeling_colour(core: str | None) -> str:
    """The palette colour of a check-in's core feeling: its expression's colour, or its own."""
    if core is None:
        return PALETTE["own words"]
    return PALETTE.get(canonical_emotion(core) or core, PALETTE["own words"])


def _feeling_scale(shapes: bool = False) -> alt.Scale:
    """Colours (or symbols) of every core feeling: the whole domain, so the legend lists all, not those in the data."""
    cores = [*FEELINGS_WHEEL, "own words"]
    colours = [feeling_colour(None if core == "own words" else core) for core in cores]
    return alt.Scale(domain=cores, range=list(FEELING_SHAPES) if shapes else colours)


def _no_data(message: str) -> alt.Chart:
    """A chart that says why it is empty, so an empty journal is not an error or a blank space."""
    chart = alt.Chart(alt.Data(values=[{"message": message}])).mark_text(size=14, color="gray", align="left", x=0)
    return chart.encode(text="message:N").properties(height=80, width=9 * len(message))  # was 20 px wide: "o cl"


def _local(at: str) -> datetime:
    return datetime.fromisoformat(at).astimezone()


def _period_start(day: date, period: str) -> date:
    if period not in PERIODS:
        raise ValueError(f"period is 'day' or 'week', not {period!r}.")
    return day - timedelta(days=day.weekday()) if period == "week" else day


def _period_label(day: date, period: str) -> str:
    """'Mon 03 Nov' for a day, 'Week of 03 Nov' for the week starting that Monday."""
    return f"Week of {day:%d %b}" if period == "week" else f"{day:%a %d %b}"


def _naive(moment: datetime) -> str:
    # No UTC offset, so the browser reads it as local time and the axis shows the same day.
    return moment.replace(tzinfo=None).isoformat(timespec="seconds")


def _time_axis(period: str, days: list[date], title: str | None = None) -> alt.X:
    """A time axis with a tick per day, or per week (on Mondays) labelled "Week of ..."."""
    first, last = min(days), max(days)
    if period == "week":
        start = _period_start(first, "week")
        ticks = [start + timedelta(weeks=n) for n in range((last - start).days // 7 + 1)]
        axis = alt.Axis(
            values=[alt.DateTime(year=d.year, month=d.month, date=d.day) for d in ticks],
            format="Week of %d %b",
            labelAngle=0,
        )
        domain_end = ticks[-1] + timedelta(days=7)
        return alt.X(
            "when:T",
            title=title or "Week (starting Monday)",
            axis=axis,
            scale=alt.Scale(
                domain=[
                    _naive(datetime.combine(start, datetime.min.time())),
                    _naive(datetime.combine(domain_end, datetime.min.time())),
                ]
            ),
        )
    return alt.X(
        "when:T",
        title=title or "Day",
        axis=alt.Axis(format="%a %d %b", tickCount={"interval": "day", "step": max(1, (last - first).days // 10 or 1)}),
        scale=alt.Scale(
            domain=[
                _naive(datetime.combine(first, datetime.min.time())),
                _naive(datetime.combine(last + timedelta(days=1), datetime.min.time())),
            ]
        ),
    )


# --- mood --------------------------------------------------------------------------------------


def _dodged(rows: list[dict], axis: str) -> list[float]:
    """Each check-in's drawn level: the true level, spread apart from others at that level that day."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        groups[(row["day"], row[axis])].append(index)
    drawn = [0.0] * len(rows)
    for (_, level), members in groups.items():
        for rank, index in enumerate(members):
            drawn[index] = level + (rank - (len(members) - 1) / 2) * _DODGE
    return drawn


def _smoothed(rows: list[dict], axis: str, period: str) -> list[dict]:
    """The line's points under ``SMOOTH_RULE`` (a weekly view: one mean per week), with segment ids for gaps."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for row in rows:
        by_day[row["day"] if period == "day" else _period_start(row["day"], "week")].append(row[axis])
    points = []
    half = timedelta(days=SMOOTH_WINDOW_DAYS // 2)
    for day in sorted(by_day):
        if period == "day":
            window = [v for other, values in by_day.items() if abs(other - day) <= half for v in values]
            centre = datetime.combine(day, datetime.min.time()) + timedelta(hours=12)
        else:
            window = by_day[day]
            centre = datetime.combine(day, datetime.min.time()) + timedelta(days=3, hours=12)
        if len(window) >= SMOOTH_MIN:
            points.append({"day": day, "when": _naive(centre), "level": sum(window) / len(window), "n": len(window)})
    segment, previous = 0, None
    gap = timedelta(days=SMOOTH_MAX_GAP_DAYS if period == "day" else 7)
    for point in points:
        if previous is not None and point["day"] - previous > gap:
            segment += 1
        previous = point["day"]
        point["segment"] = segment
        point["day"] = point["day"].isoformat()
    return points


def _mood_panel(rows: list[dict], axis: str, period: str, days: list[date]) -> alt.LayerChart:
    names = PLEASANTNESS if axis == "pleasantness" else ENERGY
    title = "Pleasantness" if axis == "pleasantness" else "Energy"
    drawn = _dodged(rows, axis)
    values = [
        {
            "when": _naive(row["local"]),
            "drawn": level,
            "level": row[axis],
            "level_name": names[row[axis]],
            "core": row["core"],
            "feeling": row["feeling"],
            "time": f"{row['local']:%a %d %b %H:%M}",
        }
        for row, level in zip(rows, drawn, strict=True)
    ]
    scale = alt.Scale(domain=[-2.5, 2.5])
    levels = alt.Axis(values=[-2, -1, 0, 1, 2], labelExpr=_label_expr(names), grid=True, labelOverlap=False)
    y = alt.Y("drawn:Q", title=title, scale=scale, axis=levels)
    x = _time_axis(period, days)
    points = (
        alt.Chart(alt.Data(values=values))
        .mark_point(filled=True, size=80, opacity=0.9)
        .encode(
            x=x,
            y=y,
            color=alt.Color("core:N", scale=_feeling_scale(), title="Feeling"),
            shape=alt.Shape("core:N", scale=_feeling_scale(shapes=True), title="Feeling"),
            tooltip=[
                alt.Tooltip("time:N", title="When"),
                alt.Tooltip("feeling:N", title="Feeling"),
                alt.Tooltip("level_name:N", title=title),
            ],
        )
    )
    layers = [points]
    line_values = _smoothed(rows, axis, period)
    if line_values:
        line = (
            alt.Chart(alt.Data(values=line_values))
            .mark_line(color="#333333", strokeWidth=2, opacity=0.7)
            .encode(
                x=x,
                y=alt.Y("level:Q", title=title, scale=scale, axis=levels),  # the same axis, so the two merge
                detail="segment:N",
                tooltip=[
                    alt.Tooltip("level:Q", title=f"{title} (mean)", format="+.1f"),
                    alt.Tooltip("n:Q", title="Check-ins"),
                ],
            )
        )
        layers.append(line)
    return alt.layer(*layers).properties(height=190)


def _label_expr(names: dict[int, str]) -> str:
    cases = " : ".join(f"datum.value == {level} ? '{name}'" for level, name in names.items())
    return f"{cases} : ''"


def _placed(checkins: Iterable[dict]) -> list[dict]:
    rows = []
    for row in checkins:
        if row.get("pleasantness") is None or row.get("energy") is None:
            continue
        local = _local(row["at"])
        rows.append(
            {
                "local": local,
                "day": local.date(),
                "pleasantness": row["pleasantness"],
                "energy": row["energy"],
                "core": row["core"] or "own words",
                "feeling": row["feeling"] or row["own_words"] or row["core"] or "",
            }
        )
    rows.sort(key=lambda row: row["local"])
    return rows


MOOD_AXES = ("pleasantness", "energy")


def mood_over_time(
    checkins: Iterable[dict], axis: str = "pleasantness", period: str = "day"
) -> alt.Chart | alt.LayerChart:
    """One Mood Meter axis ('pleasantness' or 'energy') of every check-in over time, with a line only where
    there is enough data. Two charts, one per axis, rather than one stacked chart: each then fits the page's width.
    """
    if period not in PERIODS:
        raise ValueError(f"period is 'day' or 'week', not {period!r}.")
    if axis not in MOOD_AXES:
        raise ValueError(f"axis is 'pleasantness' or 'energy', not {axis!r}.")
    rows = _placed(checkins)
    if not rows:
        return _no_data("No check-ins placed on the mood grid yet.")
    return _mood_panel(rows, axis, period, [row["day"] for row in rows])


def mood_calendar(checkins: Iterable[dict]) -> alt.LayerChart | alt.Chart:
    """A 'year in pixels': one square per day with check-ins, coloured by that day's mean pleasantness."""
    per_day: dict[date, list[int]] = defaultdict(list)
    for row in _placed(checkins):
        per_day[row["day"]].append(row["pleasantness"])
    if not per_day:
        return _no_data("No check-ins placed on the mood grid yet.")
    values = []
    for day, levels in sorted(per_day.items()):
        mean = sum(levels) / len(levels)
        monday = _period_start(day, "week")
        values.append(
            {
                "week": f"{monday:%d %b}",
                "week_start": monday.isoformat(),
                "weekday": f"{day:%a}",
                "weekday_rank": day.weekday(),
                "date": f"{day:%a %d %b %Y}",
                "mean": round(mean, 2),
                "n": len(levels),
                "label": f"{mean:+.0f}",
            }
        )
    weeks = sorted({(row["week_start"], row["week"]) for row in values})
    base = alt.Chart(alt.Data(values=values)).encode(
        x=alt.X(
            "week:O",
            title="Week of",
            sort=[week for _, week in weeks],
            axis=alt.Axis(labelAngle=-90, labelOverlap=False),
        ),
        y=alt.Y("weekday:O", title=None, sort=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "mean:Q",
            title="Pleasantness",
            scale=alt.Scale(domain=[-2, -1, 0, 1, 2], range=PLEASANTNESS_COLOURS, type="linear"),
            legend=alt.Legend(values=[-2, -1, 0, 1, 2], labelExpr=_label_expr(PLEASANTNESS)),
        ),
        tooltip=[
            alt.Tooltip("date:N", title="Day"),
            alt.Tooltip("mean:Q", title="Mean pleasantness", format="+.1f"),
            alt.Tooltip("n:Q", title="Check-ins"),
        ],
    )
    text = base.mark_text(fontSize=10).encode(
        text="label:N",
        color=alt.condition("abs(datum.mean) >= 1.5", alt.value("white"), alt.value("black")),
    )
    return alt.layer(cells, text).properties(height=alt.Step(24), width=alt.Step(28))


# --- faces you read: live practice and the quiz -----------------------------------------------


def _stacked_shares(values: list[dict], category: str, title: str, horizontal: bool) -> alt.LayerChart:
    """Bars of each emotion's share per category, labelled with the emotion name where there is room."""
    share = alt.X if horizontal else alt.Y
    place = alt.Y if horizontal else alt.X
    category_channel = place(f"{category}:{'N' if horizontal else 'O'}", title=title, sort=None)
    share_channel = share("count:Q", title="Share of readings", stack="normalize", axis=alt.Axis(format="%"))
    base = alt.Chart(alt.Data(values=values)).encode(
        category_channel, share_channel, order=alt.Order("rank:Q"), detail="emotion:N"
    )
    bars = base.mark_bar().encode(
        color=alt.Color("emotion:N", scale=_emotion_scale(), title="Expression"),
        tooltip=[
            alt.Tooltip(f"{category}:N", title=title),
            alt.Tooltip("emotion:N", title="Expression"),
            alt.Tooltip("count:Q", title="Readings"),
            alt.Tooltip("total:Q", title="All readings"),
            alt.Tooltip("share:Q", title="Share", format=".0%"),
        ],
    )
    if horizontal:
        labels = base.mark_text(align="right", dx=-4, color="black")
    else:
        labels = base.mark_text(baseline="top", dy=4, color="black")
    chart = alt.layer(bars, labels.encode(text="label:N"))
    return chart.properties(height=alt.Step(26)) if horizontal else chart


def _share_rows(counts: Counter, order: list) -> list[dict]:
    """Count and share of each (key, emotion), keys in the given order and emotions in EMOTIONS order."""
    totals: Counter = Counter()
    for (key, _), count in counts.items():
        totals[key] += count
    position = {key: index for index, key in enumerate(order)}
    rows = []
    for (key, emotion), count in sorted(
        counts.items(), key=lambda item: (position[item[0][0]], _RANK.get(item[0][1], 99))
    ):
        share = count / totals[key]
        rows.append(
            {
                "key": key,
                "emotion": _word(emotion),
                "rank": _RANK.get(emotion, 99),
                "count": count,
                "total": totals[key],
                "share": share,
                "label": _word(emotion) if share >= _MIN_LABELLED_SHARE else "",
            }
        )
    return rows


def expressions_per_session(sessions: Iterable[dict], observations: Iterable[dict]) -> alt.Chart | alt.LayerChart:
    """For each live session, the share of readings per expression, as one stacked bar per session."""
    counts = Counter((row["session_id"], row["emotion"]) for row in observations)
    if not counts:
        return _no_data("No live sessions recorded yet.")
    started = {row["id"]: row["started_at"] for row in sessions}
    order = sorted({key for key, _ in counts}, key=lambda key: (started.get(key, ""), key))
    values = _share_rows(counts, order)
    for row in values:
        row["session_id"] = key = row.pop("key")
        when = _local(started[key]).strftime("%a %d %b %H:%M") if key in started else f"#{key}"
        row["session"] = f"{when} (#{key}, {row['total']} readings)"
    return _stacked_shares(values, "session", "Session", horizontal=True)


def expressions_over_time(observations: Iterable[dict], period: str = "day") -> alt.Chart | alt.LayerChart:
    """Per day or week, the share of readings per expression across all live sessions."""
    counts = Counter((_period_start(_local(row["at"]).date(), period), row["emotion"]) for row in observations)
    if not counts:
        return _no_data("No live sessions recorded yet.")
    values = _share_rows(counts, sorted({day for day, _ in counts}))
    for row in values:
        row["period"] = _period_label(row.pop("key"), period)
    return _stacked_shares(values, "period", "Week" if period == "week" else "Day", horizontal=False)


def _scored(answers: Iterable[dict]) -> list[dict]:
    """Answers that count for accuracy: scored ones (right, shared or wrong), not practice without a score."""
    return [row for row in answers if row.get("correct") is not None]


def quiz_accuracy_over_time(answers: Iterable[dict], period: str = "day") -> alt.Chart | alt.LayerChart:
    """Per day or week, faces read the same way as their answer among scored answers, written "k of n"."""
    asked: Counter = Counter()
    right: Counter = Counter()
    days = []
    for row in _scored(answers):
        day = _period_start(_local(row["at"]).date(), period)
        days.append(day)
        asked[day] += 1
        right[day] += bool(row["correct"])
    if not asked:
        return _no_data("No scored quiz answers yet.")
    values = [
        {
            "when": _naive(
                datetime.combine(day, datetime.min.time()) + timedelta(days=3.5 if period == "week" else 0.5)
            ),
            "period": _period_label(day, period),
            "asked": asked[day],
            "right": right[day],
            "accuracy": right[day] / asked[day],
            "label": f"{right[day]} of {asked[day]}",
        }
        for day in sorted(asked)
    ]
    base = alt.Chart(alt.Data(values=values)).encode(
        x=_time_axis(period, days),
        y=alt.Y(
            "accuracy:Q",
            title="Read the same way",
            scale=alt.Scale(domain=[0, 1.1]),
            axis=alt.Axis(format="%", values=[0, 0.25, 0.5, 0.75, 1]),
        ),
    )
    points = base.mark_point(filled=True, color="#333333").encode(
        size=alt.Size("asked:Q", title="Faces", scale=alt.Scale(range=[40, 400])),
        tooltip=[
            alt.Tooltip("period:N", title="When"),
            alt.Tooltip("right:Q", title="Read the same way"),
            alt.Tooltip("asked:Q", title="Faces"),
            alt.Tooltip("accuracy:Q", title="Share", format=".0%"),
        ],
    )
    labels = base.mark_text(dy=-14, fontSize=11).encode(text="label:N")
    return alt.layer(points, labels).properties(height=220)


def quiz_accuracy_by_emotion(answers: Iterable[dict]) -> alt.Chart | alt.LayerChart:
    """For each answer emotion, how many scored faces were read the same way: a bar with "k of n" on it."""
    outcomes = [(row["answer"], bool(row["correct"])) for row in _scored(answers)]
    return _rate_bars(outcomes, "Answer", "Read the same way", "No scored quiz answers yet.")


def _rate_bars(
    outcomes: Iterable[tuple[str, bool]], category: str, rate: str, empty: str
) -> alt.Chart | alt.LayerChart:
    """One bar per emotion: the share of its (emotion, hit) outcomes that hit, with "k of n" written on it."""
    asked: Counter = Counter()
    hits: Counter = Counter()
    for emotion, hit in outcomes:
        asked[emotion] += 1
        hits[emotion] += hit
    if not asked:
        return _no_data(empty)
    values = [
        {
            "emotion": _word(emotion),
            "asked": asked[emotion],
            "right": hits[emotion],
            "accuracy": hits[emotion] / asked[emotion],
            "label": f"{hits[emotion]} of {asked[emotion]}",
        }
        for emotion in EMOTIONS
        if asked[emotion]
    ]
    base = alt.Chart(alt.Data(values=values)).encode(
        y=alt.Y("emotion:N", title=category, sort=[row["emotion"] for row in values]),
        x=alt.X(
            "accuracy:Q",
            title=rate,
            scale=alt.Scale(domain=[0, 1.2]),  # room for the "k of n" label after a full bar
            axis=alt.Axis(format="%", values=[0, 0.25, 0.5, 0.75, 1]),
        ),
    )
    bars = base.mark_bar().encode(
        color=alt.Color("emotion:N", scale=_emotion_scale(), legend=None),
        tooltip=[
            alt.Tooltip("emotion:N", title=category),
            alt.Tooltip("right:Q", title=rate),
            alt.Tooltip("asked:Q", title="Out of"),
            alt.Tooltip("accuracy:Q", title="Share", format=".0%"),
        ],
    )
    labels = base.mark_text(align="left", dx=4).encode(text="label:N")
    return alt.layer(bars, labels).properties(height=alt.Step(28))


def confusion_matrix(answers: Iterable[dict]) -> alt.Chart | alt.LayerChart:
    """Which answer (rows) was read as which guess (columns), with the count written in every cell used.

    Only scored answers from a label or a crowd count: the model's own reading is not an answer to learn mix-ups from.
    """
    pairs = Counter((r["answer"], r["guess"]) for r in _scored(answers) if r.get("answer_source", "label") != "model")
    return _guess_grid(pairs, "Answer", "No scored quiz answers yet.")


def live_guesses(answers: Iterable[dict]) -> alt.Chart | alt.LayerChart:
    """Live guesses, their own kind: what Xface read (rows) and what the person said (columns); not a score."""
    pairs = Counter((r["model_emotion"], r["guess"]) for r in answers if r.get("face_source") == "live")
    return _guess_grid(pairs, "Xface read", "No live guesses yet.").properties(
        title="Live guesses: what you said and what Xface read then (not a score)"
    )


def _guess_grid(counts: Counter, rows_title: str, empty: str) -> alt.Chart | alt.LayerChart:
    """A grid of (row emotion, guess) counts, the count written in every cell used."""
    if not counts:
        return _no_data(empty)
    emotions = list(EMOTIONS) + sorted({e for pair in counts for e in pair} - set(EMOTIONS))
    values = [
        {"answer": _word(a), "guess": _word(g), "count": counts[(a, g)], "label": str(counts[(a, g)] or "")}
        for a in emotions
        for g in emotions
    ]
    most = max(counts.values())
    words = [_word(emotion) for emotion in emotions]
    base = alt.Chart(alt.Data(values=values)).encode(
        x=alt.X("guess:N", title="Your guess", sort=words), y=alt.Y("answer:N", title=rows_title, sort=words)
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", title="Times", scale=alt.Scale(scheme="blues", domainMin=0)),
        tooltip=[alt.Tooltip("answer:N", title=rows_title), "guess:N", "count:Q"],
    )
    colour = alt.condition(f"datum.count > {most / 2}", alt.value("white"), alt.value("black"))
    return alt.layer(cells, base.mark_text().encode(text="label:N", color=colour))


# --- your own face: mirror practice ------------------------------------------------------------


def mirror_practice(results: Iterable[dict]) -> alt.Chart | alt.LayerChart:
    """For each expression asked for, how many mirror tries showed it: a bar with "k of n" on it."""
    outcomes = [(row["target"], bool(row["succeeded"])) for row in results]
    return _rate_bars(outcomes, "Expression asked for", "Tries where your face showed it", "No mirror practice yet.")
