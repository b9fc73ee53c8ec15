"""`xface train`: train the expression transformer on FER2013 on a CPU, resumably.

Targets blend the FER2013 label with the FER+ crowd-vote distribution (Barsoum et al. 2016):
ten annotators per face give cleaner, softer targets than one label, which mostly helps on
ambiguous faces and on photos from other sources. Images most annotators called "not a face"
are left out. Augmentation runs on whole batches (affine warp, flip, light, erasing) so that
tilted, shifted or differently lit faces from the aligner look like training data.
"""

from __future__ import annotations

import json
import math
import random
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm
from transformers import ViTImageProcessor

from xface.tools.camera_augment import camera_damage
from xface.tools.metrics import FERPLUS_TO_FER, crowd_shares, ferplus_majority, mean_kl, not_a_face
from xface.tools.teachers import ensemble_targets
from xface.vision.model import XfaceViTConfig, XfaceViTForImageClassification, no_hub_progress_bars


@dataclass
class TrainSettings:
    npz: str
    out: str
    epochs: int = 26
    batch_size: int = 128
    learning_rate: float = 1.5e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    ferplus_weight: float = 0.5
    label_smoothing: float = 0.05
    seed: int = 0
    threads: int = 2
    hidden_size: int = 192
    num_hidden_layers: int = 6
    limit: int | None = None
    precision: str = "auto"
    """Arithmetic of the forward pass: "bfloat16" (autocast), "float32", or "auto" (`uses_bfloat16`)."""
    init: str | None = None
    stop_after: int | None = None
    """End after this epoch, keeping the `epochs` schedule (to split a run across sessions, or cut it short)."""
    drop_path_rate: float = 0.1
    dropout: float = 0.1
    erase_probability: float = 0.5
    average_last: int = 0
    """Save the average of the last N epochs' weights as the model (stochastic weight averaging)."""
    teachers: list[str] | None = None
    """Teacher files (`xface teacher`) whose average the model learns (distillation), both outputs, both views."""
    label_weight: float = 0.3
    """With teachers: the share of the labels' own targets (FER2013 label + FER+ votes) beside the teachers'."""
    extra_faces: str | None = None
    """Aligned photo faces (`scripts/photo_faces.py extract`): the training half of their people is added."""
    camera_damage: float = 0.0
    """Chance of each kind of webcam/phone damage per face (low resolution, blur, noise, JPEG, gamma); 0: none."""
    hide_mouth: float = 0.0
    """Share of training faces with the mouth and chin covered (`hide_mouth`), their targets kept; 0: none."""
    crowd_weight: float = 0.0
    """Weight of the crowd output's loss (FER+ vote shares) beside the FER2013 output's; >0 trains both outputs,
    giving a model without one a crowd head that starts as a copy of its FER2013 head."""
    crowd_label_share: float = 0.0
    """Smoothing of the crowd output's targets toward the FER2013 label (0.1 in the shipped head's recipe)."""
    crowd_balance: float = 0.0
    """Each face's crowd loss weighs (1 / class share) ** this, over its target: the crowd's neutral prior
    (a third of all votes) then no longer swamps rare expressions away from FER2013 (`xface.tools.crowd_head`)."""
    extra_faces_crowd: bool = False
    """The photo faces' own labels train the crowd output too (people labelled them)."""
    device: str = "cpu"
    """Where the model trains ("cuda" on a machine with a GPU); augmentation and the saved files stay on the CPU."""


def training_person(person: str) -> bool:
    """The fixed half of a photo set's people that may train a model (a stable hash, so every run agrees); the
    other half stays for measuring (`scripts/photo_faces.py score --half held-out`)."""
    return zlib.crc32(person.encode()) % 2 == 0


def soft_targets(
    labels: np.ndarray, votes: np.ndarray, columns: list[str], ferplus_weight: float, smoothing: float
) -> np.ndarray:
    """Per-image target distribution over the seven emotions."""
    classes = 7
    onehot = np.full((len(labels), classes), smoothing / classes, dtype=np.float32)
    onehot[np.arange(len(labels)), labels] += 1.0 - smoothing
    ferplus = np.zeros((len(labels), classes), dtype=np.float32)
    for name, index in FERPLUS_TO_FER.items():
        ferplus[:, index] = np.clip(votes[:, columns.index(name)], 0, None)
    totals = ferplus.sum(1, keepdims=True)
    known = totals[:, 0] > 0
    ferplus[known] /= totals[known]
    targets = onehot.copy()
    targets[known] = (1 - ferplus_weight) * onehot[known] + ferplus_weight * ferplus[known]
    return targets


def augment(
    batch: torch.Tensor,
    generator: torch.Generator,
    erase_probability: float = 0.5,
    mirrored: torch.Tensor | None = None,
) -> torch.Tensor:
    """Random affine (±12°, ±10 % scale, ±8 % shift), mirror (the faces `mirrored` says, else half at random),
    brightness/contrast and erasing."""
    n = batch.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (high - low) + low

    angle = uniform(-12, 12) * math.pi / 180
    scale = uniform(0.9, 1.1)
    if mirrored is None:
        mirrored = torch.rand(n, generator=generator) < 0.5
    flip = torch.where(mirrored, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, uniform(-0.08, 0.08)], 1),
            torch.stack([sin * flip, cos, uniform(-0.08, 0.08)], 1),
        ],
        1,
    )
    grid = nn.functional.affine_grid(theta, list(batch.shape), align_corners=False)
    out = nn.functional.grid_sample(batch, grid, mode="bilinear", padding_mode="border", align_corners=False)
    contrast = uniform(0.7, 1.3).view(n, 1, 1, 1)
    brightness = uniform(-0.2, 0.2).view(n, 1, 1, 1)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * contrast + mean + brightness
    # Random erasing: one rectangle on some images, so no single region is relied on.
    size = out.shape[-1]
    h = (uniform(0.15, 0.4) * size).long().view(n, 1, 1)
    w = (uniform(0.15, 0.4) * size).long().view(n, 1, 1)
    top = (torch.rand(n, generator=generator) * size).long().view(n, 1, 1)
    left = (torch.rand(n, generator=generator) * size).long().view(n, 1, 1)
    rows = torch.arange(size).view(1, size, 1)
    cols = torch.arange(size).view(1, 1, size)
    box = (rows >= top) & (rows < top + h) & (cols >= left) & (cols < left + w)
    box &= (torch.rand(n, generator=generator) < erase_probability).view(n, 1, 1)
    return out.masked_fill(box.unsqueeze(1), 0.0).clamp(-1.5, 1.5)


MOUTH_TOP = 0.63
"""Where the cover starts, as a share of the face's height: on FER2013's mean face the nose tip is at about 0.58
and the mouth at 0.75."""


def hide_mouth(batch: torch.Tensor, generator: torch.Generator, probability: float) -> torch.Tensor:
    """(N, 1, H, W) faces, a share `probability` of them with the lower third (mouth and chin) covered in one
    grey, as a face mask or a hand covers it; 0 returns them unchanged and draws nothing.

    Why: on FER2013 strong anger mostly comes with an open mouth, and a pressed-lips frown sits among faces the
    crowd calls neutral (TRAINING.md, issue 21). Faces whose brows and eyes alone must carry their targets teach
    the model to read those, which is also how people read a masked face."""
    if probability <= 0:
        return batch
    n, _, height, width = batch.shape
    covered = torch.rand(n, generator=generator) < probability
    shade = torch.rand(n, generator=generator) * 2.0 - 1.0  # masks come in every colour, white to black
    top = int(round(height * MOUTH_TOP))
    out = batch.clone()
    out[covered, :, top:, round(width * 0.15) : round(width * 0.85)] = shade[covered].view(-1, 1, 1, 1)
    return out


class TrainingFaces(NamedTuple):
    """What one training run learns from: grey faces and, per face and view (straight, mirrored), its targets."""

    images: np.ndarray  # (N, 48, 48) uint8
    fer2013_targets: torch.Tensor  # (N, 2, 7) for the FER2013 output
    crowd_targets: torch.Tensor  # (N, 2, 7) for the crowd output
    crowd_known: torch.Tensor  # (N,) bool: faces with a crowd target (FER+ votes or teachers)
    crowd_weights: torch.Tensor  # (N,) each face's weight in the crowd loss (mean 1 over known faces)


def training_faces(settings: TrainSettings, data: np.lib.npyio.NpzFile, columns: list[str]) -> TrainingFaces:
    """FER2013's training faces (without those most annotators called not a face) with label + FER+ targets,
    blended with the teachers' average where `settings.teachers` names some, plus the training half of a
    photo set's people (`settings.extra_faces`, as `scripts/photo_faces.py extract` aligned them)."""
    keep = ~not_a_face(data["ferplus_votes_train"], columns)
    images = data["x_train"][keep]
    labels = soft_targets(
        data["y_train"][keep],
        data["ferplus_votes_train"][keep],
        columns,
        settings.ferplus_weight,
        settings.label_smoothing,
    )
    shares, known = crowd_shares(data["ferplus_votes_train"][keep], columns)
    if settings.crowd_label_share:
        onehot = np.eye(shares.shape[1], dtype=np.float32)[data["y_train"][keep]]
        share = settings.crowd_label_share
        shares = np.where(known[:, None], (1 - share) * shares + share * onehot, shares)
    fer2013 = np.repeat(labels[:, None], 2, 1)
    crowd = np.repeat(shares[:, None].astype(np.float32), 2, 1)
    if settings.teachers:
        ensemble = ensemble_targets(settings.teachers, len(data["x_train"]))[keep]
        share = settings.label_weight
        fer2013 = (1 - share) * ensemble[:, :, 0] + share * fer2013
        crowd = np.where(known[:, None, None], (1 - share) * ensemble[:, :, 1] + share * crowd, ensemble[:, :, 1])
        known = np.ones(len(images), bool)
    if settings.extra_faces:
        extra = np.load(settings.extra_faces)
        people = np.array([training_person(str(p)) for p in extra["people"]])
        rows = people & extra["found"] & (extra["labels"] >= 0)
        grey = extra["crops"][rows].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        extra_labels = soft_targets(
            extra["labels"][rows], np.full((rows.sum(), 10), -1), columns, 0.0, settings.label_smoothing
        )
        images = np.concatenate([images, grey.round().clip(0, 255).astype(np.uint8)])
        fer2013 = np.concatenate([fer2013, np.repeat(extra_labels[:, None], 2, 1)])
        crowd = np.concatenate([crowd, np.repeat(extra_labels[:, None], 2, 1)])
        known = np.concatenate([known, np.full(rows.sum(), settings.extra_faces_crowd)])
    if settings.limit:  # a quick run on a random subset (the arrays are sorted by class)
        pick = np.random.default_rng(settings.seed).permutation(len(images))[: settings.limit]
        images, fer2013, crowd, known = images[pick], fer2013[pick], crowd[pick], known[pick]
    return TrainingFaces(
        images,
        torch.from_numpy(fer2013).float(),
        torch.from_numpy(crowd).float(),
        torch.from_numpy(known),
        torch.from_numpy(class_balance_weights(crowd[:, 0], known, settings.crowd_balance)),
    )


def class_balance_weights(targets: np.ndarray, known: np.ndarray, balance: float) -> np.ndarray:
    """Per face: (1 / class share) ** balance summed over its soft (N, 7) target, shares and mean taken over
    the `known` faces, so the mean weight there is 1 (all ones at balance 0)."""
    if not balance or not known.any():
        return np.ones(len(targets), np.float32)
    prior = targets[known].mean(0)
    weights = targets @ (1 / np.maximum(prior, 1e-6)) ** balance
    return (weights / weights[known].mean()).astype(np.float32)


def to_pixels(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 48, 48) grey or (N, 48, 48, 3) colour (aligned photo crops) → float (N, 1 or 3, 48, 48)
    normalised like the saved image processor."""
    pixels = torch.from_numpy(images).float()
    pixels = pixels.permute(0, 3, 1, 2) if pixels.ndim == 4 else pixels.unsqueeze(1)
    return (pixels / 255.0 - 0.5) / 0.5


def image_processor(size: int) -> ViTImageProcessor:
    return ViTImageProcessor(
        do_resize=True,
        size={"height": size, "width": size},
        do_normalize=True,
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
    )


class OutputProbabilities(NamedTuple):
    """Both outputs' probabilities, (N, 7) each; `shown` is the crowd output where the model has one."""

    fer2013: torch.Tensor
    shown: torch.Tensor


@torch.inference_mode()
def predict_outputs(
    model: XfaceViTForImageClassification, pixels: torch.Tensor, batch_size: int = 512, flip: bool = True
) -> OutputProbabilities:
    """Both outputs, averaged over the straight and mirrored look like the app (unless `flip` is False)."""
    model.eval()
    fer2013, shown = [], []
    for start in range(0, len(pixels), batch_size):
        chunk = pixels[start : start + batch_size].to(model.device)
        views = [chunk, chunk.flip(-1)] if flip else [chunk]
        outputs = [model(pixel_values=view) for view in views]
        fer2013.append(sum(o.fer2013_logits.float().softmax(-1) for o in outputs).cpu() / len(views))
        shown.append(sum(o.logits.float().softmax(-1) for o in outputs).cpu() / len(views))
    return OutputProbabilities(torch.cat(fer2013), torch.cat(shown))


def crowd_figures(probs: np.ndarray, shares: np.ndarray, known: np.ndarray, majority: np.ndarray) -> dict:
    """FER+ majority accuracy and KL from the crowd's vote shares of the shown output."""
    rows = majority >= 0
    return {
        "val_ferplus_majority": float((probs[rows].argmax(-1) == majority[rows]).mean()) if rows.any() else None,
        "val_kl": mean_kl(shares[known], probs[known]) if known.any() else None,
    }


def training_device(name: str) -> torch.device:
    """The torch device for `--device`, or a ValueError that says why it can't be used here."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f'unknown device "{name}": use "cpu" or "cuda"') from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f'xface trains on "cpu" or "cuda", not "{name}"')
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("no CUDA GPU on this machine: train with --device cpu")
    return device


def uses_bfloat16(precision: str, device: torch.device) -> bool:
    """Whether training autocasts to bfloat16. "auto" does so on a GPU and on a CPU with bfloat16 instructions
    (AVX-512 BF16 or AMX on x86, BF16 on ARM) only: elsewhere bfloat16 is emulated, and a training step on an
    AVX2-only CPU took 18 s against 1.2 s in float32."""
    if precision not in ("auto", "bfloat16", "float32"):
        raise ValueError(f'unknown precision "{precision}": use "auto", "bfloat16" or "float32"')
    if precision != "auto":
        return precision == "bfloat16"
    if device.type == "cuda":
        return True
    capabilities = torch.cpu.get_capabilities()
    return any(capabilities.get(name, False) for name in ("avx512_bf16", "amx_bf16", "bf16"))


def train(settings: TrainSettings, progress: bool = True) -> dict:
    """Train, checkpointing every epoch into `out`; a rerun with the same `out` resumes."""
    device = training_device(settings.device)
    bfloat16 = uses_bfloat16(settings.precision, device)
    torch.set_num_threads(settings.threads)
    data = np.load(settings.npz)
    columns = [str(c) for c in data["ferplus_columns"]]
    faces = training_faces(settings, data, columns)  # before any file is written: bad teachers change nothing
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    train_pixels = to_pixels(faces.images)
    x_val, y_val, votes_val = data["x_val"], data["y_val"], data["ferplus_votes_val"]
    if settings.limit:  # a quick run on a random subset (the arrays are sorted by class)
        pick = np.random.default_rng(settings.seed).permutation(len(x_val))[: settings.limit]
        x_val, y_val, votes_val = x_val[pick], y_val[pick], votes_val[pick]
    val_pixels = to_pixels(x_val)
    val_shares, val_known = crowd_shares(votes_val, columns)
    val_majority = ferplus_majority(votes_val, columns)

    torch.manual_seed(settings.seed)
    random.seed(settings.seed)
    if settings.init:  # fine-tune a saved model (e.g. to continue in a later session) on a fresh schedule
        with no_hub_progress_bars():
            model = XfaceViTForImageClassification.from_pretrained(settings.init, local_files_only=True)
    else:
        config = XfaceViTConfig(
            hidden_size=settings.hidden_size,
            num_hidden_layers=settings.num_hidden_layers,
            intermediate_size=2 * settings.hidden_size,
        )
        model = XfaceViTForImageClassification(config)
    if settings.crowd_weight > 0 and model.crowd_classifier is None:
        model.config.crowd_head = True
        model.crowd_classifier = nn.Linear(model.config.hidden_size, model.config.num_labels)
        model.crowd_classifier.load_state_dict(model.classifier.state_dict())
    model.set_regularization(settings.drop_path_rate, settings.dropout)
    # channels_last: the stem's convolutions (half a step's time) ran about a fifth faster on an AVX2 CPU.
    model.to(device, memory_format=torch.channels_last)
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "token" in n or "position" in n]
    decay = [p for n, p in model.named_parameters() if not (p.ndim < 2 or "token" in n or "position" in n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=settings.learning_rate,
    )
    steps_per_epoch = math.ceil(len(train_pixels) / settings.batch_size)
    total_steps = settings.epochs * steps_per_epoch
    warmup = int(settings.warmup_epochs * steps_per_epoch)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total_steps - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    generator = torch.Generator().manual_seed(settings.seed)
    start_epoch, history = 0, []
    checkpoint_path = out / "checkpoint.pt"
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=False, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"].cpu())
        if "global_rng" in state:  # drop-path draws from torch's global generator: restored, a resume repeats
            torch.set_rng_state(state["global_rng"].cpu())
        start_epoch, history = state["epoch"], state["history"]
        print(f"resuming after epoch {start_epoch}", flush=True)

    for epoch in range(start_epoch, min(settings.epochs, settings.stop_after or settings.epochs)):
        model.train()
        began = time.time()
        order = torch.randperm(len(train_pixels), generator=generator)
        total_loss = 0.0
        batches = range(0, len(order), settings.batch_size)
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{settings.epochs}", disable=not progress, leave=False)
        for start in bar:
            index = order[start : start + settings.batch_size]
            mirrored = torch.rand(len(index), generator=generator) < 0.5
            pixels = augment(train_pixels[index], generator, settings.erase_probability, mirrored)
            pixels = camera_damage(pixels, generator, settings.camera_damage)
            pixels = hide_mouth(pixels, generator, settings.hide_mouth).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bfloat16):
                output = model(pixel_values=pixels)
            view = mirrored.long()  # a mirrored face learns what the teachers said of the mirrored face
            fer2013_targets = faces.fer2013_targets[index, view].to(device)
            loss = nn.functional.cross_entropy(output.fer2013_logits.float(), fer2013_targets)
            rows = faces.crowd_known[index].to(device)
            if settings.crowd_weight > 0 and bool(rows.any()):
                crowd_targets = faces.crowd_targets[index, view].to(device)[rows]
                weights = faces.crowd_weights[index].to(device)[rows]
                log_probs = output.logits.float()[rows].log_softmax(-1)
                crowd = -(weights * (crowd_targets * log_probs).sum(1)).mean()
                loss = loss + settings.crowd_weight * crowd
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(index)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bfloat16):
            probs = predict_outputs(model, val_pixels)  # a progress reading: bfloat16 halves its time where native
        accuracy = float((probs.fer2013.argmax(-1).numpy() == y_val).mean())
        record = {
            "epoch": epoch + 1,
            "loss": total_loss / len(order),
            "val_accuracy": accuracy,
            **crowd_figures(probs.shown.numpy(), val_shares, val_known, val_majority),
            "seconds": round(time.time() - began, 1),
            "lr": scheduler.get_last_lr()[0],
            "precision": "bfloat16" if bfloat16 else "float32",
        }
        history.append(record)
        print(json.dumps(record), flush=True)
        if settings.average_last > 1:
            _keep_epoch_weights(model, out / "epochs", epoch + 1, settings.average_last)
        _save_model(model, out)
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": generator.get_state(),
                "global_rng": torch.get_rng_state(),
                "epoch": epoch + 1,
                "history": history,
            },
            checkpoint_path.with_suffix(".tmp"),
        )
        checkpoint_path.with_suffix(".tmp").replace(checkpoint_path)
        (out / "training_log.json").write_text(json.dumps({"settings": asdict(settings), "history": history}, indent=1))
    result: dict = {"history": history}
    finished = bool(history) and history[-1]["epoch"] == settings.epochs
    if settings.average_last > 1 and finished:
        epochs = list(range(settings.epochs - settings.average_last + 1, settings.epochs + 1))
        average_epochs(model, [out / "epochs" / f"epoch_{n}.safetensors" for n in epochs], train_pixels, settings)
        probs = predict_outputs(model, val_pixels)
        accuracy = float((probs.fer2013.argmax(-1).numpy() == y_val).mean())
        figures = {"val_accuracy": accuracy, **crowd_figures(probs.shown.numpy(), val_shares, val_known, val_majority)}
        result["averaged"] = {"epochs": epochs, **figures}
        print(json.dumps({"averaged_epochs": epochs, **figures}), flush=True)
        _save_model(model, out)
        (out / "training_log.json").write_text(json.dumps({"settings": asdict(settings), **result}, indent=1))
    return result


def _save_model(model: XfaceViTForImageClassification, out: Path) -> None:
    with no_hub_progress_bars():
        model.save_pretrained(out)
    image_processor(model.config.image_size).save_pretrained(out)


def _keep_epoch_weights(model: nn.Module, folder: Path, epoch: int, keep: int) -> None:
    """This epoch's weights for averaging later; older ones than the last `keep` are deleted."""
    folder.mkdir(exist_ok=True)
    weights = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    save_file(weights, folder / f"epoch_{epoch}.safetensors")
    for old in folder.glob("epoch_*.safetensors"):
        if int(old.stem.removeprefix("epoch_")) <= epoch - keep:
            old.unlink()


def average_epochs(
    model: XfaceViTForImageClassification,
    paths: list[Path],
    train_pixels: torch.Tensor,
    settings: TrainSettings,
    batch_size: int = 256,
) -> None:
    """Stochastic weight averaging (Izmailov et al. 2018): the mean of the epochs' weights sits in a
    flatter, better-generalising spot than any one of them. BatchNorm statistics of the averaged
    weights are measured again on the training faces as training saw them (augmented and, where the run
    used them, camera-damaged and mouth-covered): measured on clean faces they cost a camera-damaged run
    1.6 points."""
    states = [load_file(path) for path in paths]
    averaged = {
        name: sum(state[name] for state in states) / len(states) if tensor.is_floating_point() else tensor
        for name, tensor in states[-1].items()
    }
    model.load_state_dict(averaged)
    generator = torch.Generator().manual_seed(settings.seed)
    batches = [
        hide_mouth(
            camera_damage(
                augment(train_pixels[start : start + batch_size], generator, settings.erase_probability),
                generator,
                settings.camera_damage,
            ),
            generator,
            settings.hide_mouth,
        )
        for start in range(0, len(train_pixels), batch_size)
    ]
    torch.optim.swa_utils.update_bn(batches, model, device=model.device)
    model.eval()


@torch.no_grad()  # not inference_mode: the crowd head's training reads these tensors
def cls_features(model: XfaceViTForImageClassification, images: np.ndarray, batch_size: int = 500) -> torch.Tensor:
    """(N, 2, hidden) [CLS] features of faces (as `to_pixels` takes them), straight and mirrored (the app's two
    looks)."""
    model.eval()
    parts = []
    for start in range(0, len(images), batch_size):
        pixels = to_pixels(images[start : start + batch_size])
        views = [model.features(view)[0] for view in (pixels, pixels.flip(-1))]
        parts.append(torch.stack(views, 1))
    return torch.cat(parts)
