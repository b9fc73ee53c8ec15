"""Journal rows → Altair charts. Pure functions: rows in, chart out, nothing read or written.

The inputs are the lists of dicts that ``Journal`` returns. Counting and grouping by day or week is
done here, in the person's local time, so each chart carries small, checkable data (observations
can number thousands); check-ins are few, so the mood chart carries every one of them.
Emotions always have the same colour (Okabe–Ito, readable with colour blindness), and no chart
relies on colour alone: lines have point shapes, stacked bars are labelled, matrix cells show counts.
Empty input gives a chart that says there is nothing yet, never an error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

import altair as alt

from xface.emotions import EMOTIONS

__all__ = [
    "PERIODS",
    "confusion_matrix",
    "expressions_over_time",
    "expressions_per_session",
    "mood_trend",
    "quiz_accuracy_over_time",
]

PERIODS = ("day", "week")

EMOTION_COLORS = alt.Scale(
    domain=list(EMOTIONS),
    range=["#D55E00", "#009E73", "#CC79A7", "#E69F00", "#0072B2", "#56B4E9", "#999999"],
)
_RANK = {emotion: rank for rank, emotion in enumerate(EMOTIONS)}
_MIN_LABELLED_SHARE = 0.12


def _no_data(message: str) -> alt.Chart:
    """A chart that says why it is empty, so an empty journal is not an error or a blank space."""
    return (
        alt.Chart(alt.Data(values=[{"message": message}]))
        .mark_text(size=14, color="gray")
        .encode(text="message:N")
        .properties(height=80)
    )


def _period(at: str, period: str) -> str:
    """The local day, or the Monday of the local week, that a stored UTC time falls in: 'YYYY-MM-DD'."""
    if period not in PERIODS:
        raise ValueError(f"period is 'day' or 'week', not {period!r}.")
    day = datetime.fromisoformat(at).astimezone().date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    return day.isoformat()


def _local_midnight(day: str) -> str:
    # No UTC offset, so the browser reads it as local midnight and the axis shows the same day.
    return f"{day}T00:00:00"


def _period_axis(period: str) -> alt.X:
    title = "Day" if period == "day" else "Week starting"
    return alt.X("period:T", title=title, axis=alt.Axis(format="%b %d"))


def mood_trend(checkins: Iterable[dict], period: str = "day") -> alt.Chart | alt.LayerChart:
    """Mean check-in intensity per day or week for each core feeling, as lines with shaped points."""
    values = [
        {
            "id": row["id"],
            "at": row["at"],
            "period": _local_midnight(_period(row["at"], period)),
            "core": row["core"] or "own words",
            "feeling": row["feeling"] or row["own_words"],
            "intensity": row["intensity"],
        }
        for row in checkins
    ]
    if not values:
        return _no_data("No check-ins yet.")
    feeling = alt.Color("core:N", title="Feeling")
    base = alt.Chart(alt.Data(values=values)).encode(
        x=_period_axis(period),
        y=alt.Y("mean(intensity):Q", title="Intensity (1–5)", scale=alt.Scale(domain=[1, 5])),
        color=feeling,
    )
    line = base.mark_line()
    points = base.mark_point(filled=True, size=90).encode(
        shape=alt.Shape("core:N", title="Feeling"),
        tooltip=[
            alt.Tooltip("period:T", title=period.capitalize()),
            alt.Tooltip("core:N", title="Feeling"),
            alt.Tooltip("mean(intensity):Q", title="Mean intensity", format=".1f"),
            alt.Tooltip("count():Q", title="Check-ins"),
        ],
    )
    return alt.layer(line, points)


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
        color=alt.Color("emotion:N", scale=EMOTION_COLORS, title="Expression"),
        tooltip=[
            alt.Tooltip(f"{category}:N", title=title),
            alt.Tooltip("emotion:N", title="Expression"),
            alt.Tooltip("count:Q", title="Readings"),
            alt.Tooltip("share:Q", title="Share", format=".0%"),
        ],
    )
    if horizontal:
        labels = base.mark_text(align="right", dx=-4, color="black")
    else:
        labels = base.mark_text(baseline="top", dy=4, color="black")
    return alt.layer(bars, labels.encode(text="label:N"))


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
        label = emotion if share >= _MIN_LABELLED_SHARE else ""
        rows.append(
            {
                "key": key,
                "emotion": emotion,
                "rank": _RANK.get(emotion, 99),
                "count": count,
                "share": share,
                "label": label,
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
        when = datetime.fromisoformat(started[key]).astimezone().strftime("%Y-%m-%d %H:%M ") if key in started else ""
        row["session"] = f"{when}#{key}"
    return _stacked_shares(values, "session", "Session", horizontal=True)


def expressions_over_time(observations: Iterable[dict], period: str = "day") -> alt.Chart | alt.LayerChart:
    """Per day or week, the share of readings per expression across all live sessions."""
    counts = Counter((_period(row["at"], period), row["emotion"]) for row in observations)
    if not counts:
        return _no_data("No live sessions recorded yet.")
    values = _share_rows(counts, sorted({day for day, _ in counts}))
    for row in values:
        row["period"] = row.pop("key")
    return _stacked_shares(values, "period", "Day" if period == "day" else "Week starting", horizontal=False)


def quiz_accuracy_over_time(answers: Iterable[dict], period: str = "day") -> alt.Chart | alt.LayerChart:
    """Per day or week and per emotion, the share of faces read the same way as their answer."""
    asked: Counter = Counter()
    correct: Counter = Counter()
    for row in answers:
        key = (_period(row["at"], period), row["answer"])
        asked[key] += 1
        correct[key] += row["guess"] == row["answer"]
    if not asked:
        return _no_data("No quiz answers yet.")
    values = [
        {
            "period": _local_midnight(day),
            "emotion": emotion,
            "asked": count,
            "correct": correct[(day, emotion)],
            "accuracy": correct[(day, emotion)] / count,
        }
        for (day, emotion), count in sorted(asked.items(), key=lambda item: (item[0][0], _RANK.get(item[0][1], 99)))
    ]
    base = alt.Chart(alt.Data(values=values)).encode(
        x=_period_axis(period),
        y=alt.Y("accuracy:Q", title="Read the same way", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.Color("emotion:N", scale=EMOTION_COLORS, title="Expression"),
    )
    points = base.mark_point(filled=True, size=80).encode(
        shape=alt.Shape("emotion:N", title="Expression"),
        tooltip=["emotion:N", "asked:Q", "correct:Q", alt.Tooltip("accuracy:Q", format=".0%")],
    )
    return alt.layer(base.mark_line(), points)


def confusion_matrix(answers: Iterable[dict]) -> alt.Chart | alt.LayerChart:
    """Which answer (rows) was read as which guess (columns), with the count written in every cell used."""
    counts = Counter((row["answer"], row["guess"]) for row in answers)
    if not counts:
        return _no_data("No quiz answers yet.")
    emotions = list(EMOTIONS) + sorted({e for pair in counts for e in pair} - set(EMOTIONS))
    values = [
        {
            "answer": answer,
            "guess": guess,
            "count": counts[(answer, guess)],
            "label": str(counts[(answer, guess)] or ""),
        }
        for answer in emotions
        for guess in emotions
    ]
    most = max(counts.values())
    base = alt.Chart(alt.Data(values=values)).encode(
        x=alt.X("guess:N", title="Your guess", sort=emotions),
        y=alt.Y("answer:N", title="Answer", sort=emotions),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", title="Times", scale=alt.Scale(scheme="blues", domainMin=0)),
        tooltip=["answer:N", "guess:N", "count:Q"],
    )
    text = base.mark_text().encode(
        text="label:N",
        color=alt.condition(f"datum.count > {most / 2}", alt.value("white"), alt.value("black")),
    )
    return alt.layer(cells, text)
