from collections import Counter
from datetime import UTC, datetime

import pytest

from xface import charts
from xface.emotions import EMOTIONS
from xface.journal import Journal


def probs(emotion: str) -> dict[str, float]:
    return {e: (0.7 if e == emotion else 0.05) for e in EMOTIONS}


@pytest.fixture
def journal(tmp_path):
    journal = Journal(tmp_path / "journal.db")
    first = journal.start_session("live")
    journal.add_observations(
        first,
        [{"t": t, "face_id": 0, "probs": probs(e), "emotion": e} for t, e in enumerate(["happy"] * 6 + ["sad"] * 2)],
    )
    second = journal.start_session("live")
    journal.add_observations(
        second,
        [{"t": t, "face_id": t % 2, "probs": probs(e), "emotion": e} for t, e in enumerate(["fear", "neutral"] * 3)],
    )
    quiz = journal.start_session("quiz")
    for answer, guess in [("fear", "surprise")] * 3 + [("happy", "happy")] * 2 + [("disgust", "angry"), ("sad", "sad")]:
        journal.add_quiz_answer(quiz, f"{answer}.jpg", guess, answer, "label", answer, 0.6)
    journal.add_checkin("lonely", "sad", 2, at=datetime(2024, 5, 6, 12, tzinfo=UTC))
    journal.add_checkin("hurt", "sad", 4, at=datetime(2024, 5, 6, 13, tzinfo=UTC))
    journal.add_checkin("proud", "happy", 5, at=datetime(2024, 5, 9, 12, tzinfo=UTC))
    journal.add_checkin(None, None, 3, own_words="buzzing", at=datetime(2024, 5, 20, 12, tzinfo=UTC))
    yield journal
    journal.close()


def values(spec: dict) -> list[dict]:
    """Every inline data row anywhere in a Vega-Lite spec (top level or layers)."""
    found = []
    if isinstance(spec, dict):
        if isinstance(spec.get("data"), dict) and "values" in spec["data"]:
            found += spec["data"]["values"]
        for key, value in spec.items():
            if key != "data":
                found += values(value)
    elif isinstance(spec, list):
        for item in spec:
            found += values(item)
    return found


def encodings(spec: dict) -> list[dict]:
    return [layer["encoding"] for layer in spec.get("layer", [spec]) if "encoding" in layer]


def test_mood_trend_has_every_checkin_coloured_and_shaped(journal):
    checkins = journal.checkins()
    for period in charts.PERIODS:
        spec = charts.mood_trend(checkins, period).to_dict()
        rows = values(spec)
        assert sorted(row["id"] for row in rows) == [row["id"] for row in checkins]
        assert {row["core"] for row in rows} == {"sad", "happy", "own words"}
        assert any(e.get("shape", {}).get("field") == "core" for e in encodings(spec))
        assert all(e["color"]["field"] == "core" for e in encodings(spec))
    weekly = {row["id"]: row["period"] for row in values(charts.mood_trend(checkins, "week").to_dict())}
    assert len(set(weekly.values())) == 2  # May 6 and May 9 2024 share a week, May 20 does not
    with pytest.raises(ValueError):
        charts.mood_trend(checkins, "month")


def test_expressions_per_session_counts_match_the_journal(journal):
    observations = journal.observations()
    rows = values(charts.expressions_per_session(journal.sessions(), observations).to_dict())
    assert Counter({(row["session_id"], row["emotion"]): row["count"] for row in rows}) == Counter(
        (row["session_id"], row["emotion"]) for row in observations
    )
    first = {row["emotion"]: row["share"] for row in rows if row["session_id"] == 1}
    assert first == {"happy": 0.75, "sad": 0.25}
    assert len({row["session"] for row in rows}) == 2  # the quiz session has no bar


def test_expressions_over_time_counts_every_observation(journal):
    observations = journal.observations()
    for period in charts.PERIODS:
        spec = charts.expressions_over_time(observations, period).to_dict()
        counts = Counter()
        for row in values(spec):
            counts[row["emotion"]] += row["count"]
        assert counts == Counter(row["emotion"] for row in observations)
        assert any(e.get("text", {}).get("field") == "label" for e in encodings(spec))


def test_quiz_accuracy_over_time_per_emotion(journal):
    spec = charts.quiz_accuracy_over_time(journal.quiz_answers(), "day").to_dict()
    rows = {row["emotion"]: row for row in values(spec)}
    assert (rows["fear"]["asked"], rows["fear"]["accuracy"]) == (3, 0.0)
    assert (rows["happy"]["asked"], rows["happy"]["accuracy"]) == (2, 1.0)
    assert sum(row["asked"] for row in rows.values()) == len(journal.quiz_answers())
    assert any(e.get("shape", {}).get("field") == "emotion" for e in encodings(spec))


def test_confusion_matrix_cells_match_confusion_counts(journal):
    spec = charts.confusion_matrix(journal.quiz_answers()).to_dict()
    rows = values(spec)
    assert len(rows) == len(EMOTIONS) ** 2
    assert {(row["answer"], row["guess"]): row["count"] for row in rows if row["count"]} == journal.confusion_counts()
    assert all(row["label"] == (str(row["count"]) if row["count"] else "") for row in rows)
    assert any(e.get("text", {}).get("field") == "label" for e in encodings(spec))
    assert {e["x"]["title"] for e in encodings(spec)} == {"Your guess"}


@pytest.mark.parametrize(
    "build",
    [
        lambda: charts.mood_trend([]),
        lambda: charts.mood_trend([], "week"),
        lambda: charts.expressions_per_session([], []),
        lambda: charts.expressions_over_time([], "week"),
        lambda: charts.quiz_accuracy_over_time([]),
        lambda: charts.confusion_matrix([]),
    ],
)
def test_empty_input_says_so(build):
    spec = build().to_dict()
    assert spec["mark"]["type"] == "text"
    assert "yet" in values(spec)[0]["message"]


def test_an_empty_journal_charts_without_errors(tmp_path):
    with Journal(tmp_path / "journal.db") as journal:
        charts.expressions_per_session(journal.sessions(), journal.observations()).to_dict()
        charts.mood_trend(journal.checkins()).to_dict()
