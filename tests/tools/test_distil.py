"""Teachers kept as soft targets, distilled into the shipped architecture, and the camera-like augmentation."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import DATA, FER_NPZ, fer_validation_subset
from tests.tools.test_cli import xface
from xface.tools.camera_augment import camera_damage
from xface.tools.teachers import ensemble_targets
from xface.tools.train import MOUTH_TOP, hide_mouth, to_pixels
from xface.tools.views import WARP_SETS, WARPS

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_TEACHER = ROOT / "teachers" / "shipped.npz"
TRAINING_FACES = 28709


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    return to_pixels(np.load(FER_NPZ)["x_val"][:64])


def test_camera_damage_leaves_faces_alone_at_zero_and_damages_every_face_at_one(faces: torch.Tensor) -> None:
    assert torch.equal(camera_damage(faces, torch.Generator().manual_seed(0), 0.0), faces)
    damaged = camera_damage(faces, torch.Generator().manual_seed(0), 1.0)
    assert damaged.shape == faces.shape
    assert (damaged - faces).abs().flatten(1).mean(1).min() > 0.01  # every face changed
    assert damaged.min() >= -1.0 and damaged.max() <= 1.0  # still pixels a camera could give
    again = camera_damage(faces, torch.Generator().manual_seed(0), 1.0)
    assert torch.equal(damaged, again)  # the run's generator decides everything: resumed runs repeat


def test_camera_damage_strikes_about_the_share_of_faces_asked(faces: torch.Tensor) -> None:
    """Five kinds of damage, each on a face with chance p: about 1 - (1 - p)^5 of faces change."""
    many = faces.repeat(8, 1, 1, 1)  # 512 faces
    changed = (camera_damage(many, torch.Generator().manual_seed(1), 0.2) - many).abs().flatten(1).amax(1) > 1e-3
    assert 0.55 < float(changed.float().mean()) < 0.80  # expected 0.67


def test_the_shipped_teacher_file_covers_every_training_face_in_both_views_and_outputs() -> None:
    probabilities = np.load(SHIPPED_TEACHER)["train"]
    assert probabilities.shape == (TRAINING_FACES, 2, 2, 7) and probabilities.dtype == np.float16
    assert np.allclose(probabilities.astype(np.float32).sum(-1), 1.0, atol=1e-2)
    figures = json.loads(SHIPPED_TEACHER.with_suffix(".json").read_text())["validation"]
    assert figures["fer2013_accuracy"] > 0.69 and figures["ferplus_majority_accuracy"] > 0.82  # the shipped heads
    assert figures["ferplus_kl"] <= 0.35  # the readings issue's bound
    # The two views differ (a face and its mirror are read separately), and the straight view of the FER2013
    # output, averaged with the mirrored, agrees with the labels as often as the validation figures suggest.
    assert not np.array_equal(probabilities[:, 0], probabilities[:, 1])
    labels = np.load(FER_NPZ)["y_train"]
    both = probabilities[:, :, 0].astype(np.float32).mean(1)
    assert (both.argmax(1) == labels).mean() > figures["fer2013_accuracy"]  # seen in training: read better


def test_ensemble_targets_average_the_teachers_and_refuse_files_that_do_not_fit(tmp_path: Path) -> None:
    shipped = np.load(SHIPPED_TEACHER)["train"]
    uniform = tmp_path / "uniform.npz"
    np.savez_compressed(uniform, train=np.full(shipped.shape, 1 / 7, np.float16))
    average = ensemble_targets([SHIPPED_TEACHER, uniform], TRAINING_FACES)
    assert np.allclose(average, (shipped.astype(np.float32) + 1 / 7) / 2, atol=2e-3)
    assert np.allclose(average.sum(-1), 1.0, atol=1e-5)
    short = tmp_path / "short.npz"
    np.savez_compressed(short, train=shipped[:10])
    with pytest.raises(ValueError, match="holds 10 training faces"):
        ensemble_targets([SHIPPED_TEACHER, short], TRAINING_FACES)
    with pytest.raises(ValueError, match="no such teacher file"):
        ensemble_targets([tmp_path / "missing.npz"], TRAINING_FACES)


def test_hide_mouth_covers_the_lower_face_of_the_share_asked_and_nothing_else(faces: torch.Tensor) -> None:
    assert torch.equal(hide_mouth(faces, torch.Generator().manual_seed(0), 0.0), faces)
    many = faces.repeat(8, 1, 1, 1)  # 512 faces
    covered = hide_mouth(many, torch.Generator().manual_seed(2), 0.25)
    top = round(48 * MOUTH_TOP)
    assert torch.equal(covered[:, :, :top], many[:, :, :top])  # brows, eyes and nose untouched
    assert torch.equal(covered[..., :7], many[..., :7]) and torch.equal(covered[..., 41:], many[..., 41:])
    band = covered[:, 0, top:, 7:41].flatten(1)
    hidden = (band - many[:, 0, top:, 7:41].flatten(1)).abs().amax(1) > 0
    assert 0.18 < float(hidden.float().mean()) < 0.32  # expected 0.25
    assert torch.equal(band[hidden].amin(1), band[hidden].amax(1))  # one grey over the mouth and chin
    assert len(set(band[hidden][:, 0].tolist())) > 10  # masks of many shades


def test_distil_smoke_run_trains_both_outputs_of_the_shipped_architecture_from_the_teachers(tmp_path: Path) -> None:
    out = tmp_path / "student"
    result = xface(
        "train", "--npz", str(FER_NPZ), "--out", str(out), "--epochs", "1", "--limit", "200",
        "--teacher", str(SHIPPED_TEACHER), "--crowd-weight", "1", "--camera-damage", "0.2", "--hide-mouth", "0.1",
        cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    log = json.loads((out / "training_log.json").read_text())
    assert log["settings"]["teachers"] == [str(SHIPPED_TEACHER)] and log["settings"]["hide_mouth"] == 0.1
    record = log["history"][0]
    assert 0 <= record["val_accuracy"] <= 1 and record["val_kl"] > 0 and record["val_ferplus_majority"] is not None
    config = json.loads((out / "config.json").read_text())
    shipped = json.loads((ROOT / "models" / "xface-vit" / "config.json").read_text())
    assert config["crowd_head"] is True
    for size in ("hidden_size", "num_hidden_layers", "intermediate_size", "stem_channels", "image_size"):
        assert config[size] == shipped[size], size
    from xface.vision.classifier import load_classifier

    outputs = load_classifier(out, prefer_onnx=False).predict_outputs(np.zeros((2, 48, 48, 3), np.uint8))
    assert outputs.shown.shape == outputs.fer2013.shape == (2, 7)
    assert not np.allclose(outputs.shown, outputs.fer2013)  # two heads, not one output twice


def test_distil_with_a_missing_teacher_says_so_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "student"
    result = xface(
        "train", "--npz", str(FER_NPZ), "--out", str(out), "--teacher", str(tmp_path / "nosuch.npz"), cwd=ROOT
    )
    assert result.returncode == 2
    assert "no such teacher file" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_teacher_of_a_missing_model_says_so_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "teacher.npz"
    result = xface("teacher", "--model", str(tmp_path / "nosuch"), "--npz", str(FER_NPZ), "--out", str(out), cwd=ROOT)
    assert result.returncode == 2
    assert "no such file" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_a_teacher_averages_its_reading_over_the_warps_asked_and_measures_validation_as_evaluate_does(
    tmp_path: Path,
) -> None:
    """`xface teacher --warps`: each training face's two views are the app's readings averaged over the set's
    warps of the face; aligned alone gives `xface evaluate`'s validation figures."""
    from xface.vision.classifier import load_classifier

    npz = fer_validation_subset(tmp_path / "fer-small.npz", slice(0, 120), training_rows=slice(0, 48))
    model = str(ROOT / "models" / "xface-vit")
    files = {}
    for warps in ("aligned", "zooms-and-turns"):
        files[warps] = tmp_path / f"{warps}.npz"
        result = xface("teacher", "--model", model, "--npz", str(npz), "--out", str(files[warps]), "--warps", warps)
        assert result.returncode == 0, result.stderr
    report = json.loads(files["zooms-and-turns"].with_suffix(".json").read_text())
    assert report["settings"]["warps"] == "zooms-and-turns" and report["faces"] == 48

    faces = np.load(npz)["x_train"]
    classifier = load_classifier(model, threads=2)
    expected = np.zeros((len(faces), 2, 2, 7), np.float32)
    names = WARP_SETS["zooms-and-turns"]
    for name in names:
        rgb = np.repeat(WARPS[name].apply_to_faces(faces)[..., None], 3, -1)
        for view_index, view in enumerate(("as_seen", "mirrored")):
            reading = classifier.predict_outputs(rgb, view)
            expected[:, view_index, 0] += reading.fer2013 / len(names)
            expected[:, view_index, 1] += reading.shown / len(names)
    warped = np.load(files["zooms-and-turns"])["train"].astype(np.float32)
    aligned = np.load(files["aligned"])["train"].astype(np.float32)
    assert warped.shape == aligned.shape == (48, 2, 2, 7)
    assert np.allclose(warped, expected, atol=2e-3)  # float16 in the file
    assert np.abs(warped - aligned).max() > 0.02  # the warps changed what the teacher says

    evaluated = xface("evaluate", "--model", model, "--npz", str(npz), "--json", str(tmp_path / "evaluate.json"))
    assert evaluated.returncode == 0, evaluated.stderr
    figures = json.loads((tmp_path / "evaluate.json").read_text())
    validation = json.loads(files["aligned"].with_suffix(".json").read_text())["validation"]
    assert validation["fer2013_accuracy"] == pytest.approx(figures["fer2013"]["accuracy"])
    assert validation["ferplus_majority_accuracy"] == pytest.approx(figures["ferplus_majority"]["accuracy"])
    assert validation["ferplus_kl"] == pytest.approx(figures["ferplus_kl"], abs=1e-4)


def test_a_teacher_with_an_unknown_set_of_warps_names_the_sets_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "teacher.npz"
    model = str(ROOT / "models" / "xface-vit")
    result = xface("teacher", "--model", model, "--npz", str(FER_NPZ), "--out", str(out), "--warps", "sideways")
    assert result.returncode == 2
    assert "no set of warps called 'sideways'" in result.stderr and "zooms-and-turns" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def run_script(*args: str) -> subprocess.CompletedProcess:
    """One of `scripts/`, run from the project root; it must succeed."""
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr
    return result


def test_photo_faces_join_training_only_for_the_training_half_of_their_people(tmp_path: Path) -> None:
    """`scripts/photo_faces.py extract` aligns photos the app's way; training takes only the people that
    `training_person` allows, with their folder label as target and no crowd target."""
    from xface.tools.train import TrainSettings, training_faces, training_person

    source = DATA / "faces" / "web_expressions"
    chosen = {"sad": ["Jennifer_Pena_0001.jpg", "John_Edwards_0007.jpg"], "surprise": ["Kristy_Curry_0001.jpg"]}
    for emotion, names in chosen.items():
        (tmp_path / "photos" / emotion).mkdir(parents=True)
        for name in names:
            shutil.copy(source / emotion / name, tmp_path / "photos" / emotion / name)
    shutil.copy(source / "labels.csv", tmp_path / "photos" / "labels.csv")
    extracted = tmp_path / "faces.npz"
    run_script("scripts/photo_faces.py", "extract", str(tmp_path / "photos"), str(extracted))
    faces = np.load(extracted)
    assert faces["found"].all() and faces["crops"].shape == (3, 48, 48, 3)
    assert [training_person(str(p)) for p in faces["people"]] == [False, True, True]

    data = np.load(FER_NPZ)
    columns = [str(c) for c in data["ferplus_columns"]]
    plain = training_faces(TrainSettings(npz=str(FER_NPZ), out=""), data, columns)
    joined = training_faces(TrainSettings(npz=str(FER_NPZ), out="", extra_faces=str(extracted)), data, columns)
    assert len(joined.images) == len(plain.images) + 2
    added = joined.fer2013_targets[len(plain.images) :, 0]
    assert added.argmax(1).tolist() == [4, 5]  # sad, surprise
    assert not joined.crowd_known[len(plain.images) :].any()
    voted = training_faces(
        TrainSettings(npz=str(FER_NPZ), out="", extra_faces=str(extracted), extra_faces_crowd=True), data, columns
    )
    assert voted.crowd_known[len(plain.images) :].all()
    assert voted.crowd_targets[len(plain.images) :, 0].argmax(1).tolist() == [4, 5]


def test_the_crowd_loss_can_be_class_balanced_and_smoothed_toward_the_label() -> None:
    """The shipped crowd head's recipe, in training: neutral (a third of all votes) no longer swamps the rest."""
    from xface.tools.train import TrainSettings, class_balance_weights, training_faces

    data = np.load(FER_NPZ)
    columns = [str(c) for c in data["ferplus_columns"]]
    plain = training_faces(TrainSettings(npz=str(FER_NPZ), out=""), data, columns)
    recipe = training_faces(
        TrainSettings(npz=str(FER_NPZ), out="", crowd_label_share=0.1, crowd_balance=1.0), data, columns
    )
    known = plain.crowd_known.numpy()
    assert torch.equal(plain.crowd_weights, torch.ones(len(plain.images)))
    weights = recipe.crowd_weights.numpy()
    assert weights[known].mean() == pytest.approx(1.0, abs=1e-4)
    by_class = recipe.crowd_targets[:, 0].argmax(1).numpy()
    disgusted, neutral = weights[known & (by_class == 1)].mean(), weights[known & (by_class == 6)].mean()
    assert disgusted > 5 * neutral
    difference = (recipe.crowd_targets - plain.crowd_targets)[known, 0]
    assert difference.abs().sum(1).max() <= 0.2 + 1e-5 and difference.abs().sum() > 0
    assert class_balance_weights(np.eye(2)[[0, 0, 0, 1]], np.ones(4, bool), 1.0).tolist() == pytest.approx(
        [2 / 3, 2 / 3, 2 / 3, 2.0]
    )


def test_averaged_weights_measure_their_batchnorm_statistics_on_faces_as_training_saw_them(tmp_path: Path) -> None:
    """Measured on clean faces, the statistics of a camera-damaged run's averaged weights cost it 1.6 points."""
    from safetensors.torch import save_file

    from xface.tools.train import TrainSettings, average_epochs
    from xface.vision.model import XfaceViTConfig, XfaceViTForImageClassification

    torch.manual_seed(0)
    model = XfaceViTForImageClassification(XfaceViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2))
    paths = []
    for epoch in (1, 2):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(0.01 * torch.randn_like(parameter))
        paths.append(tmp_path / f"epoch_{epoch}.safetensors")
        save_file({name: tensor.contiguous() for name, tensor in model.state_dict().items()}, paths[-1])
    pixels = to_pixels(np.load(FER_NPZ)["x_val"][:64])
    variances = {}
    for damage in (0.0, 1.0):
        settings = TrainSettings(npz="", out="", camera_damage=damage, erase_probability=0.0)
        average_epochs(model, paths, pixels, settings)
        variances[damage] = next(b.running_var.clone() for b in model.modules() if isinstance(b, torch.nn.BatchNorm2d))
    assert not torch.allclose(variances[0.0], variances[1.0])
    assert not model.training


def disturbed_model(folder: Path) -> Path:
    """A second model that reads differently: the bundled one with both heads disturbed."""
    from xface.vision.model import XfaceViTForImageClassification

    model = XfaceViTForImageClassification.from_pretrained(ROOT / "models" / "xface-vit")
    torch.manual_seed(0)
    with torch.no_grad():
        for head in (model.classifier, model.crowd_classifier):
            head.weight.add_(torch.randn_like(head.weight) * head.weight.std())
    model.save_pretrained(folder)
    shutil.copy(ROOT / "models" / "xface-vit" / "preprocessor_config.json", folder)
    return folder


def faces_file(path: Path, found: np.ndarray) -> Path:
    """A file as `photo_faces.py extract` writes it, its crops FER2013 validation faces."""
    data = np.load(FER_NPZ)
    count = len(found)
    np.savez(
        path,
        crops=np.repeat(data["x_val"][:count, ..., None], 3, axis=-1),
        found=found,
        labels=data["y_val"][:count],
        people=np.array([f"p{i}" for i in range(count)]),
    )
    return path


def test_photo_faces_score_reads_an_ensemble_on_photos_and_on_fer2013_validation(tmp_path: Path) -> None:
    """`scripts/photo_faces.py score --average --npz` scores each model and the average of their outputs, on
    aligned photo faces and on FER2013 validation as given: the figures a new model or ensemble must beat."""
    from xface.tools.evaluate import predict_faces
    from xface.tools.metrics import crowd_shares, ferplus_majority, mean_kl
    from xface.vision.classifier import load_classifier

    other = disturbed_model(tmp_path / "other-model")
    data = np.load(FER_NPZ)
    rows = slice(0, 120)
    validation = fer_validation_subset(tmp_path / "fer-val.npz", rows)
    found = np.arange(80) % 10 != 0  # every tenth photo without a face: counted wrong
    photos = faces_file(tmp_path / "faces.npz", found)
    written = np.load(photos)
    crops, labels = written["crops"], written["labels"]

    models = [str(ROOT / "models" / "xface-vit"), str(other)]
    models_named = [arg for name in models for arg in ("--model", name)]
    result = run_script(
        "scripts/photo_faces.py", "score", str(photos), "--average", "--npz", str(validation), *models_named
    )
    report = json.loads(result.stdout)

    classifiers = [load_classifier(name) for name in models]
    on_photos = [c.predict_outputs(crops) for c in classifiers]
    mean_shown = np.mean([o.shown for o in on_photos], axis=0)
    read = np.where(found, mean_shown.argmax(1), -1)
    expressive = found & (labels != 6)
    averaged = report["sets"][str(photos)]["average"]["shown"]
    assert averaged["accuracy"] == round(float((read == labels).mean()), 4)
    assert averaged["expressive_read_neutral"] == round(float((read[expressive] == 6).mean()), 4)
    assert report["sets"][str(photos)]["photos"] == 80 and report["sets"][str(photos)]["faces_found"] == 72

    on_validation = [predict_faces(c, data["x_val"][rows], progress=False) for c in classifiers]
    majority = ferplus_majority(data["ferplus_votes_val"][rows], [str(c) for c in data["ferplus_columns"]])
    shares, voted = crowd_shares(data["ferplus_votes_val"][rows], [str(c) for c in data["ferplus_columns"]])
    mean_fer2013 = np.mean([o.fer2013 for o in on_validation], axis=0)
    mean_crowd = np.mean([o.shown for o in on_validation], axis=0)
    figures = report["fer2013_validation"]
    assert figures["average"]["fer2013_accuracy"] == round(
        float((mean_fer2013.argmax(1) == data["y_val"][rows]).mean()), 4
    )
    known = majority >= 0
    assert figures["average"]["ferplus_majority"] == round(
        float((mean_crowd.argmax(1)[known] == majority[known]).mean()), 4
    )
    assert figures["average"]["ferplus_kl"] == round(float(mean_kl(shares[voted], mean_crowd[voted])), 4)
    assert figures[models[0]] != figures[models[1]]  # two different models, so the average is neither of them


def aligned_line(figures: dict, on_photos: dict) -> list[str]:
    """The fields `test_time_views.py` prints for the aligned set, from `photo_faces.py score`'s report."""
    return [
        "aligned",
        f"FER2013 val {figures['fer2013_accuracy']:.2%} / FER+ {figures['ferplus_majority']:.2%}",
        f"KL {figures['ferplus_kl']:.3f}",
        *(
            f"faces {key} {on_photos[key]['accuracy']:.1%} ({on_photos[key]['expressive_read_neutral']:.1%} neutral)"
            for key in ("fer2013", "shown")
        ),
    ]


def field(fields: list[str], name: str) -> str:
    """The printed field that starts with `name` (fields are found by what they say, not where they sit)."""
    return next(text for text in fields if text.startswith(name))


def test_test_time_views_score_the_aligned_view_as_photo_faces_does(tmp_path: Path) -> None:
    """`scripts/test_time_views.py`: the aligned view alone gives `photo_faces.py score`'s figures (the same
    faces, both views, FER2013 validation as given), and a line for every set of warps."""
    validation = str(fer_validation_subset(tmp_path / "fer-val.npz", slice(0, 60)))
    crops = str(faces_file(tmp_path / "faces.npz", np.ones(16, bool)))
    model = str(ROOT / "models" / "xface-vit")
    views = run_script("scripts/test_time_views.py", "--model", model, "--npz", validation, "--crops", crops)
    lines = views.stdout.splitlines()
    assert len(lines) == len(WARP_SETS) and lines[0].startswith("aligned |")
    assert lines[-1].startswith(" + ".join(WARPS))
    score = run_script("scripts/photo_faces.py", "score", crops, "--npz", validation, "--model", model)
    report = json.loads(score.stdout)
    assert lines[0].split(" | ") == aligned_line(report["fer2013_validation"][model], report["sets"][crops][model])


def test_test_time_views_of_several_models_score_their_ensemble_as_photo_faces_does(tmp_path: Path) -> None:
    """`scripts/test_time_views.py` with two models: the aligned set is the two models' average, the figures
    `photo_faces.py score --average` gives, and only the sets asked for are printed."""
    validation = str(fer_validation_subset(tmp_path / "fer-val.npz", slice(0, 60)))
    crops = str(faces_file(tmp_path / "faces.npz", np.arange(16) % 8 != 0))
    models = [str(ROOT / "models" / "xface-vit"), str(disturbed_model(tmp_path / "other-model"))]
    views = run_script(
        "scripts/test_time_views.py",
        "--model",
        *models,
        "--npz",
        validation,
        "--crops",
        crops,
        "--sets",
        "aligned",
        "turns",
    )
    lines = views.stdout.splitlines()
    assert len(lines) == 2 and lines[1].startswith(" + ".join(WARP_SETS["turns"]) + " |")
    models_named = [arg for name in models for arg in ("--model", name)]
    score = run_script("scripts/photo_faces.py", "score", crops, "--average", "--npz", validation, *models_named)
    report = json.loads(score.stdout)
    figures = report["fer2013_validation"]
    assert lines[0].split(" | ") == aligned_line(figures["average"], report["sets"][crops]["average"])
    single = aligned_line(figures[models[0]], report["sets"][crops][models[0]])
    # The ensemble's FER2013 figures are not the first model's.
    assert field(lines[0].split(" | "), "FER2013 val") != field(single, "FER2013 val")
