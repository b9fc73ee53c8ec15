import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import textstat

from xface.emotions import EMOTIONS, emotion_word
from xface.journal import charts
from xface.journal.store import Journal


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


def panels(checkins: list[dict], period: str = "day") -> list[dict]:
    """The two mood charts (pleasantness, energy) as specs."""
    return [charts.mood_over_time(checkins, axis, period).to_dict() for axis in charts.MOOD_AXES]


def layer_values(panel: dict) -> list[list[dict]]:
    return [layer["data"]["values"] for layer in panel["layer"]]


def test_mood_over_time_plots_every_placed_checkin_on_both_axes(journal):
    checkins = journal.checkins()
    placed = [row for row in checkins if row["pleasantness"] is not None]
    assert len(placed) == 3  # the check-in in own words only is not on the grid
    for period in charts.PERIODS:
        pleasantness, energy = panels(checkins, period)
        for panel, axis in [(pleasantness, "pleasantness"), (energy, "energy")]:
            points = layer_values(panel)[0]
            assert sorted(point["level"] for point in points) == sorted(row[axis] for row in placed)
            assert {point["core"] for point in points} == {"sad", "happy"}
            assert panel["layer"][0]["encoding"]["shape"]["field"] == "core"  # not colour alone
        assert pleasantness["layer"][0]["encoding"]["y"]["title"] == "Pleasantness"
        assert energy["layer"][0]["encoding"]["y"]["title"] == "Energy"
    with pytest.raises(ValueError):
        charts.mood_over_time(checkins, "pleasantness", "month")
    with pytest.raises(ValueError):
        charts.mood_over_time(checkins, "arousal")


def test_two_checkins_at_the_same_level_on_one_day_are_both_visible(tmp_path):
    with Journal(tmp_path / "journal.db") as journal:
        for hour in (9, 9, 21):  # two at the very same minute
            journal.add_checkin("lonely", "sad", 2, at=datetime(2024, 5, 6, hour, tzinfo=UTC))
        specs = panels(journal.checkins())
    for panel in specs:
        points = layer_values(panel)[0]
        assert len(points) == 3
        assert len({(point["when"], point["drawn"]) for point in points}) == 3  # three marks in three places
        assert all(point["level"] == -1 for point in points)  # the tooltip keeps the true level
        assert all(abs(point["drawn"] - point["level"]) < 0.5 for point in points)


def test_a_line_only_where_there_is_enough_data_and_never_across_gaps(tmp_path):
    with Journal(tmp_path / "journal.db") as journal:
        # Single check-ins days apart: points only, no line.
        for day in (1, 5, 9, 13):
            journal.add_checkin("calm", "calm", 2, at=datetime(2024, 5, day, 12, tzinfo=UTC))
        assert all(len(panel["layer"]) == 1 for panel in panels(journal.checkins()))
        # Two dense stretches (3 a day), ten days apart: a line over each, broken between them.
        for day in (20, 21, 22, 23, 24, 25, 26) + (5 + 31, 6 + 31, 7 + 31):
            for hour in (8, 13, 19):
                moment = datetime(2024, 5, 1, hour, tzinfo=UTC) + timedelta(days=day - 1)
                journal.add_checkin("joyful", "happy", 3, at=moment)
        dense = panels(journal.checkins())
    for panel in dense:
        points, line = layer_values(panel)
        assert len(points) == 4 + 30
        assert all(point["n"] >= charts.SMOOTH_MIN for point in line)
        assert len({point["segment"] for point in line}) >= 2  # the gap breaks the line
        assert panel["layer"][1]["encoding"]["detail"]["field"] == "segment"
    assert "at least 3 check-ins" in charts.SMOOTH_RULE and textstat.flesch_reading_ease(charts.SMOOTH_RULE) >= 70


def test_weekly_views_are_labelled_by_week(journal):
    axis = panels(journal.checkins(), "week")[0]["layer"][0]["encoding"]["x"]["axis"]
    assert axis["format"].startswith("Week of")
    ticks = [date(tick["year"], tick["month"], tick["date"]) for tick in axis["values"]]
    assert ticks and all(tick.weekday() == 0 for tick in ticks)  # Mondays
    shares = values(charts.expressions_over_time(journal.observations(), "week").to_dict())
    assert all(row["period"].startswith("Week of") for row in shares)
    quiz = charts.quiz_accuracy_over_time(journal.quiz_answers(), "week").to_dict()
    assert quiz["layer"][0]["encoding"]["x"]["axis"]["format"].startswith("Week of")


def test_the_calendar_colours_each_day_by_its_mean_pleasantness(journal):
    spec = charts.mood_calendar(journal.checkins()).to_dict()
    days = {row["date"]: row for row in values(spec)}
    local_days = {datetime.fromisoformat(row["at"]).astimezone().strftime("%a %d %b %Y") for row in journal.checkins()}
    assert set(days) == local_days - {"Mon 20 May 2024"}  # the check-in in own words only is not placed
    may6 = next(row for row in days.values() if row["n"] == 2)
    assert may6["mean"] == -1.5  # "lonely" (-1) and "hurt" (-2)
    assert [row["n"] for row in days.values()] == [2, 1]


def test_one_colour_per_emotion_in_every_chart(journal, tmp_path):
    assert charts.feeling_colour("afraid") == charts.PALETTE["fear"]
    assert charts.feeling_colour("calm") == charts.PALETTE["neutral"]
    assert charts.feeling_colour(None) == charts.PALETTE["own words"]
    mirror = journal.start_session("mirror")
    journal.add_mirror_result(mirror, "fear", True, 2.0, 0.8)
    journal.add_checkin("anxious", "afraid", 3)
    built = [
        charts.mood_over_time(journal.checkins()).to_dict()["layer"][0],
        charts.expressions_per_session(journal.sessions(), journal.observations()).to_dict()["layer"][0],
        charts.quiz_accuracy_by_emotion(journal.quiz_answers()).to_dict()["layer"][0],
        charts.mirror_practice(journal.mirror_results()).to_dict()["layer"][0],
    ]
    for layer in built:
        scale = layer["encoding"]["color"]["scale"]
        colours = dict(zip(scale["domain"], scale["range"], strict=True))
        assert "scared" not in colours and "fear" not in colours, colours  # one word: "afraid"
        assert colours["afraid"] == charts.PALETTE["fear"], layer["encoding"]["color"]


def test_expressions_per_session_counts_match_the_journal(journal):
    observations = journal.observations()
    rows = values(charts.expressions_per_session(journal.sessions(), observations).to_dict())
    assert Counter({(row["session_id"], row["emotion"]): row["count"] for row in rows}) == Counter(
        (row["session_id"], emotion_word(row["emotion"])) for row in observations
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
        assert counts == Counter(emotion_word(row["emotion"]) for row in observations)
        assert any(e.get("text", {}).get("field") == "label" for e in encodings(spec))


def test_every_rate_shows_its_count(journal):
    quiz = journal.start_session("quiz")
    journal.add_quiz_answer(quiz, "p", "sad", None, "crowd", None, None, "bank", "unscored")  # not counted
    answers = journal.quiz_answers()
    over_time = values(charts.quiz_accuracy_over_time(answers, "day").to_dict())
    assert sum(row["asked"] for row in over_time) == 7  # the seven scored answers
    assert all(row["label"] == f"{row['right']} of {row['asked']}" for row in over_time)
    by_emotion = {row["emotion"]: row for row in values(charts.quiz_accuracy_by_emotion(answers).to_dict())}
    assert by_emotion["afraid"]["label"] == "0 of 3" and by_emotion["happy"]["label"] == "2 of 2"
    mirror = journal.start_session("mirror")
    for succeeded in (True, False, True):
        journal.add_mirror_result(mirror, "surprise", succeeded, 1.0 if succeeded else None, 0.7)
    (row,) = values(charts.mirror_practice(journal.mirror_results()).to_dict())
    assert (row["emotion"], row["label"]) == ("surprised", "2 of 3")
    layers = charts.mirror_practice(journal.mirror_results()).to_dict()["layer"]
    assert any(layer["encoding"].get("text", {}).get("field") == "label" for layer in layers)


def in_words(counts: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """(answer, guess) counts keyed by the words the charts show."""
    return {(emotion_word(answer), emotion_word(guess)): count for (answer, guess), count in counts.items()}


def test_confusion_matrix_cells_match_confusion_counts(journal):
    spec = charts.confusion_matrix(journal.quiz_answers()).to_dict()
    rows = values(spec)
    assert len(rows) == len(EMOTIONS) ** 2
    assert {(row["answer"], row["guess"]): row["count"] for row in rows if row["count"]} == in_words(
        journal.confusion_counts()
    )
    quiz = journal.start_session("quiz")
    journal.add_quiz_answer(quiz, "m.jpg", "sad", "happy", "model", "happy", 0.5)  # the model's reading: no mix-up
    again = values(charts.confusion_matrix(journal.quiz_answers()).to_dict())
    assert {(row["answer"], row["guess"]): row["count"] for row in again if row["count"]} == in_words(
        {pair: count for pair, count in journal.confusion_counts().items() if pair != ("happy", "sad")}
    )
    assert all(row["label"] == (str(row["count"]) if row["count"] else "") for row in rows)
    assert any(e.get("text", {}).get("field") == "label" for e in encodings(spec))
    assert {e["x"]["title"] for e in encodings(spec)} == {"Your guess"}


def test_live_guesses_are_their_own_chart_against_what_xface_read(journal):
    session = journal.start_session("guess")
    for guess, read in (("sad", "happy"), ("happy", "happy"), ("sad", "happy")):
        journal.add_quiz_answer(session, "live face 1", guess, None, "model", read, 0.9, "live", "unscored")
    spec = charts.live_guesses(journal.quiz_answers()).to_dict()
    cells = {(row["answer"], row["guess"]): row["count"] for row in values(spec) if row["count"]}
    assert cells == {("happy", "sad"): 2, ("happy", "happy"): 1}
    assert "not a score" in spec["title"] and {e["y"]["title"] for e in encodings(spec)} == {"Xface read"}
    before = values(
        charts.confusion_matrix([a for a in journal.quiz_answers() if a["face_source"] != "live"]).to_dict()
    )
    after = values(charts.confusion_matrix(journal.quiz_answers()).to_dict())
    assert after == before  # unscored live guesses teach no mix-ups


@pytest.mark.parametrize(
    "build",
    [
        lambda: charts.mood_over_time([]),
        lambda: charts.mood_over_time([], "energy", "week"),
        lambda: charts.mood_calendar([]),
        lambda: charts.mirror_practice([]),
        lambda: charts.quiz_accuracy_by_emotion([]),
        lambda: charts.expressions_per_session([], []),
        lambda: charts.expressions_over_time([], "week"),
        lambda: charts.quiz_accuracy_over_time([]),
        lambda: charts.confusion_matrix([]),
        lambda: charts.live_guesses([]),
    ],
)
def test_empty_input_says_so(build):
    spec = build().to_dict()
    assert spec["mark"]["type"] == "text"
    assert "yet" in values(spec)[0]["message"]


def test_an_empty_journal_charts_without_errors(tmp_path):
    with Journal(tmp_path / "journal.db") as journal:
        charts.expressions_per_session(journal.sessions(), journal.observations()).to_dict()
        charts.mood_over_time(journal.checkins()).to_dict()
        charts.mood_calendar(journal.checkins()).to_dict()


def test_charts_name_each_emotion_with_the_apps_one_word() -> None:
    from xface.journal.charts import quiz_accuracy_by_emotion

    answers = [
        {
            "answer": "fear",
            "guess": "fear",
            "correct": 1,
            "verdict": "right",
            "answer_source": "label",
            "at": "2026-11-01T10:00:00.000000+00:00",
        },
        {
            "answer": "surprise",
            "guess": "fear",
            "correct": 0,
            "verdict": "wrong",
            "answer_source": "label",
            "at": "2026-11-01T10:01:00.000000+00:00",
        },
    ]
    spec = json.dumps(quiz_accuracy_by_emotion(answers).to_dict())
    assert "afraid" in spec and "surprised" in spec
    assert '"fear"' not in spec and '"surprise"' not in spec


def test_an_empty_chart_is_as_wide_as_its_message():
    """The calendar is drawn at its own width: without check-ins it was 20 px wide and showed "o cl"."""
    empty = charts.mood_calendar([]).to_dict()
    message = empty["data"]["values"][0]["message"]
    assert message == "No check-ins placed on the mood grid yet."
    assert empty["width"] >= 7 * len(message)  # 14 px sans serif: about 7 px a character
    assert (empty["mark"]["align"], empty["mark"]["x"]) == ("left", 0)  # begins at the chart's left edge


def test_the_mood_legend_lists_every_feeling_whatever_the_data_holds(tmp_path):
    """Colour and shape share one domain: with its own, the shape took only the 4 feelings in the data, and the
    merged legend listed 4 of the 9 (seen in the browser)."""
    with Journal(tmp_path / "journal.db") as journal:
        for feeling, core, pleasant, energy in [("lonely", "sad", -1, -1), ("calm", "calm", 1, -1)]:
            journal.add_checkin(feeling, core, 3, pleasantness=pleasant, energy=energy)
        spec = charts.mood_over_time(journal.checkins()).to_dict()
    points = spec["layer"][0]["encoding"]
    colours, shapes = points["color"]["scale"], points["shape"]["scale"]
    assert shapes["domain"] == colours["domain"] == [*charts.FEELINGS_WHEEL, "own words"]
    assert len(set(shapes["range"])) == len(shapes["domain"])  # a symbol of its own for each


def test_the_expression_legends_list_all_seven_whatever_the_data_holds(journal):
    """Like the mood legend: a legend keyed by the data listed only the expressions seen (4 of 7, issue 25)."""
    sessions, observations = journal.sessions(), journal.observations()
    seen = {row["emotion"] for row in observations}
    assert len(seen) < len(EMOTIONS), seen  # the data holds fewer expressions than there are
    for chart in (charts.expressions_per_session(sessions, observations), charts.expressions_over_time(observations)):
        (bars,) = [layer for layer in chart.to_dict()["layer"] if "color" in layer.get("encoding", {})]
        assert bars["encoding"]["color"]["scale"]["domain"] == [emotion_word(e) for e in EMOTIONS]
