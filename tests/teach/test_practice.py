"""The practice bank as shipped (the real PNGs and manifest) and the crowd's scoring and wording."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections import Counter
from importlib import resources

import numpy as np
import pytest
import textstat

from tests.conftest import FER_NPZ, ROOT
from xface.emotions import EMOTIONS, WORDS, emotion_word
from xface.teach.practice import (
    BANK_FOLDER,
    DISPLAY_SIZE,
    BankFace,
    crowd_sentence,
    crowd_verdict,
    face_hash,
    hash_distance,
    level_of,
    load_bank,
)

BANK = ROOT / "xface" / "teach" / BANK_FOLDER


def build_script():
    spec = importlib.util.spec_from_file_location("build_practice_bank", ROOT / "scripts" / "build_practice_bank.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fer() -> dict[str, np.ndarray]:
    with np.load(FER_NPZ) as data:  # an NpzFile reads an array again at every access: read each once
        return {key: data[key] for key in ("x_train", "x_val", "ferplus_votes_train", "ferplus_columns")}


def test_the_bank_is_big_enough_in_every_emotion_and_small_on_disk():
    bank = load_bank()
    per_emotion = Counter(face.emotion for face in bank)
    assert len(bank) >= 300
    assert all(per_emotion[emotion] >= 40 for emotion in EMOTIONS if emotion != "disgust"), per_emotion
    assert per_emotion["disgust"] >= 15
    assert sum(path.stat().st_size for path in BANK.iterdir()) <= 5 * 1024 * 1024
    for level in (1, 2, 3):  # each level can be played with every emotion
        assert {face.emotion for face in load_bank(level)} == set(EMOTIONS)


def test_levels_follow_how_far_the_crowd_agreed():
    for face in load_bank():
        top = face.votes[face.emotion]
        assert face.agreement == pytest.approx(top / face.raters, abs=1e-3)
        assert max(face.votes.values()) == top and list(face.votes.values()).count(top) == 1
        assert face.level == level_of(face.agreement)
        if face.raters == 10:
            assert face.level == {10: 1, 9: 1, 8: 2, 7: 2, 6: 3, 5: 3}[top]
        assert sum(face.votes.values()) + sum(face.other_votes.values()) == face.raters
        assert face.image.shape == (48, 48) and face.image.dtype == np.uint8
    assert all(face.votes["disgust"] >= 6 for face in load_bank(emotions=["disgust"]))
    assert [level_of(share) for share in (1.0, 0.9, 0.89, 0.7, 0.69, 0.5, 0.49)] == [1, 1, 2, 2, 3, 3, None]


def test_every_face_is_a_training_face_with_its_ferplus_votes(fer):
    votes = fer["ferplus_votes_train"]
    columns = [str(c) for c in fer["ferplus_columns"]]
    ours = {"happiness": "happy", "sadness": "sad", "anger": "angry"}
    for face in load_bank():
        assert np.array_equal(face.image, fer["x_train"][face.source_index])
        row = dict(zip(columns, votes[face.source_index].tolist(), strict=True))
        assert {ours.get(name, name): row[name] for name in columns[:7]} == face.votes
        assert (face.other_votes["contempt"], face.other_votes["unknown"], face.other_votes["not_a_face"]) == (
            row["contempt"],
            row["unknown"],
            row["NF"],
        )
        assert max(row["unknown"], row["NF"]) < face.votes[face.emotion]


def test_no_duplicates_within_the_bank_nor_of_any_validation_face(fer):
    bank = load_bank()
    assert len({hashlib.sha256(face.image.tobytes()).digest() for face in bank}) == len(bank)
    assert len({face.source_index for face in bank}) == len({face.id for face in bank}) == len(bank)
    hashes = np.stack([face_hash(face.image) for face in bank])
    limit = build_script().NEAR_DUPLICATE
    for index, face in enumerate(bank):
        for looks in (face.image, face.image[:, ::-1]):
            distances = hash_distance(face_hash(looks), hashes)
            distances[index] = 256
            assert distances.min() > limit, (face.id, int(distances.argmin()))
    val_hashes = np.stack([face_hash(face) for face in fer["x_val"]])
    assert min(hash_distance(h, val_hashes).min() for h in hashes) > limit


def test_the_hash_finds_a_near_copy_and_tells_different_faces_apart(fer):
    face = fer["x_train"][0]
    brighter = np.clip(face.astype(int) + 12, 0, 255).astype(np.uint8)
    shifted = np.roll(face, 1, axis=1)
    assert hash_distance(face_hash(face), face_hash(brighter))[0] <= 8
    assert hash_distance(face_hash(face), face_hash(shifted))[0] <= 28
    others = np.stack([face_hash(other) for other in fer["x_train"][1:200]])
    assert np.median(hash_distance(face_hash(face), others)) > 80


def test_file_names_and_ids_say_nothing_about_the_answer():
    words = {*EMOTIONS, *WORDS.values(), "fear", "anger", "happiness", "sadness", "scared", "level"}
    manifest = json.loads((BANK / "manifest.json").read_text())
    for item in manifest["faces"]:
        assert not any(word in (item["file"] + item["id"]).lower() for word in words), item["file"]
    assert sorted(path.name for path in BANK.glob("*.png")) == sorted(item["file"] for item in manifest["faces"])


def test_the_script_rebuilds_the_same_bank_from_the_shared_data(tmp_path):
    build_script().build(FER_NPZ, out=tmp_path / "bank")
    shipped = (BANK / "manifest.json").read_text()
    assert (tmp_path / "bank" / "manifest.json").read_text() == shipped
    for item in json.loads(shipped)["faces"][:50]:
        assert (tmp_path / "bank" / item["file"]).read_bytes() == (BANK / item["file"]).read_bytes()


def test_the_bank_ships_inside_the_package():
    folder = resources.files("xface.teach").joinpath(BANK_FOLDER)
    assert folder.joinpath("manifest.json").is_file()


def test_faces_are_upscaled_smoothly_for_display():
    face = load_bank()[0]
    shown = face.display_image()
    assert shown.size == (DISPLAY_SIZE, DISPLAY_SIZE) and shown.mode == "RGB"
    pixels = np.asarray(shown.convert("L"), dtype=int)
    # A smooth filter: neighbouring pixels rarely repeat in 5-pixel blocks as a nearest-neighbour copy would.
    assert (np.diff(pixels, axis=1) != 0).mean() > 0.5


def test_load_bank_filters_and_refuses_what_it_does_not_know():
    sad_level_two = load_bank(2, ["sad"])
    assert sad_level_two and all(face.level == 2 and face.emotion == "sad" for face in sad_level_two)
    with pytest.raises(ValueError):
        load_bank(4)
    with pytest.raises(ValueError):
        load_bank(emotions=["scared"])


def face(votes: dict[str, int], other: dict[str, int] | None = None) -> BankFace:
    full = {emotion: votes.get(emotion, 0) for emotion in EMOTIONS}
    others = {"contempt": 0, "unknown": 0, "not_a_face": 0, **(other or {})}
    raters = sum(full.values()) + sum(others.values())
    emotion = max(full, key=full.get)
    return BankFace(
        id="t",
        file="t.png",
        emotion=emotion,
        votes=full,
        other_votes=others,
        raters=raters,
        agreement=full[emotion] / raters,
        level=level_of(full[emotion] / raters),
        source_index=0,
        image=np.zeros((48, 48), np.uint8),
    )


def test_a_sizeable_minority_is_shared_not_wrong():
    split = face({"sad": 6, "neutral": 3, "fear": 1})
    assert crowd_verdict(split, "sad") == "right"
    assert crowd_verdict(split, "neutral") == "shared"  # 3 of 10 people read it so
    assert crowd_verdict(split, "fear") == "wrong"  # one person is not enough
    assert crowd_verdict(split, "happy") == "wrong"


def test_the_crowd_sentence_says_how_people_read_the_face():
    assert crowd_sentence(face({"sad": 8, "neutral": 2})) == "8 of 10 people said sad, 2 said neutral."
    mixed = crowd_sentence(face({"fear": 6, "surprise": 2}, {"contempt": 1, "unknown": 1}))
    assert mixed == "6 of 10 people said afraid, 2 said surprised, 1 said contempt, 1 could not tell."
    assert crowd_sentence(face({"happy": 10})) == "10 of 10 people said happy."
    for item in load_bank():
        assert textstat.flesch_reading_ease(crowd_sentence(item)) >= 70, crowd_sentence(item)


def test_one_word_per_emotion():
    assert [emotion_word(e) for e in EMOTIONS] == [
        "angry",
        "disgusted",
        "afraid",
        "happy",
        "sad",
        "surprised",
        "neutral",
    ]
    assert emotion_word("scared") == emotion_word("Fearful") == "afraid"
    with pytest.raises(ValueError):
        emotion_word("elated")
