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
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm
from transformers import ViTImageProcessor

from xface.tools.metrics import FERPLUS_TO_FER, crowd_shares, mean_kl, not_a_face
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
    bfloat16: bool = True
    init: str | None = None
    stop_after: int | None = None
    """End after this epoch, keeping the `epochs` schedule (to split a run across sessions, or cut it short)."""
    drop_path_rate: float = 0.1
    dropout: float = 0.1
    erase_probability: float = 0.5
    average_last: int = 0
    """Save the average of the last N epochs' weights as the model (stochastic weight averaging)."""
    device: str = "cpu"
    """Where the model trains ("cuda" on a machine with a GPU); augmentation and the saved files stay on the CPU."""


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


def augment(batch: torch.Tensor, generator: torch.Generator, erase_probability: float = 0.5) -> torch.Tensor:
    """Random affine (±12°, ±10 % scale, ±8 % shift, mirror), brightness/contrast and erasing."""
    n = batch.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (high - low) + low

    angle = uniform(-12, 12) * math.pi / 180
    scale = uniform(0.9, 1.1)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
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


def to_pixels(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 48, 48) grey → float (N, 1, 48, 48) normalised like the saved image processor."""
    return (torch.from_numpy(images).float().unsqueeze(1) / 255.0 - 0.5) / 0.5


def image_processor(size: int) -> ViTImageProcessor:
    return ViTImageProcessor(
        do_resize=True,
        size={"height": size, "width": size},
        do_normalize=True,
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
    )


@torch.inference_mode()
def predict_logits(
    model: XfaceViTForImageClassification, pixels: torch.Tensor, batch_size: int = 512, flip: bool = True
) -> torch.Tensor:
    model.eval()
    outputs = []
    for start in range(0, len(pixels), batch_size):
        chunk = pixels[start : start + batch_size].to(model.device)
        probs = model(pixel_values=chunk).fer2013_logits.softmax(-1)
        if flip:
            probs = (probs + model(pixel_values=chunk.flip(-1)).fer2013_logits.softmax(-1)) / 2
        outputs.append(probs.float().cpu())
    return torch.cat(outputs)


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


def train(settings: TrainSettings, progress: bool = True) -> dict:
    """Train, checkpointing every epoch into `out`; a rerun with the same `out` resumes."""
    device = training_device(settings.device)
    torch.set_num_threads(settings.threads)
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    data = np.load(settings.npz)
    columns = [str(c) for c in data["ferplus_columns"]]
    keep = ~not_a_face(data["ferplus_votes_train"], columns)
    x_train = data["x_train"][keep]
    targets = soft_targets(
        data["y_train"][keep],
        data["ferplus_votes_train"][keep],
        columns,
        settings.ferplus_weight,
        settings.label_smoothing,
    )
    x_val, y_val = data["x_val"], data["y_val"]
    if settings.limit:  # a quick run on a random subset (the arrays are sorted by class)
        subset = np.random.default_rng(settings.seed)
        pick = subset.permutation(len(x_train))[: settings.limit]
        x_train, targets = x_train[pick], targets[pick]
        pick = subset.permutation(len(x_val))[: settings.limit]
        x_val, y_val = x_val[pick], y_val[pick]
    train_pixels = to_pixels(x_train)
    train_targets = torch.from_numpy(targets)
    val_pixels = to_pixels(x_val)

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
    model.set_regularization(settings.drop_path_rate, settings.dropout)
    model.to(device)
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
            pixels = augment(train_pixels[index], generator, settings.erase_probability).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=settings.bfloat16):
                logits = model(pixel_values=pixels).fer2013_logits
            loss = nn.functional.cross_entropy(logits.float(), train_targets[index].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(index)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=settings.bfloat16):
            probs = predict_logits(model, val_pixels)  # a progress reading: half the time of float32
        accuracy = float((probs.argmax(-1).numpy() == y_val).mean())
        record = {
            "epoch": epoch + 1,
            "loss": total_loss / len(order),
            "val_accuracy": accuracy,
            "seconds": round(time.time() - began, 1),
            "lr": scheduler.get_last_lr()[0],
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
        average_epochs(model, [out / "epochs" / f"epoch_{n}.safetensors" for n in epochs], train_pixels)
        accuracy = float((predict_logits(model, val_pixels).argmax(-1).numpy() == y_val).mean())
        result["averaged"] = {"epochs": epochs, "val_accuracy": accuracy}
        print(json.dumps({"averaged_epochs": epochs, "val_accuracy": accuracy}), flush=True)
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
    model: XfaceViTForImageClassification, paths: list[Path], train_pixels: torch.Tensor, batch_size: int = 256
) -> None:
    """Stochastic weight averaging (Izmailov et al. 2018): the mean of the epochs' weights sits in a
    flatter, better-generalising spot than any one of them. BatchNorm statistics of the averaged
    weights are measured again on the (unaugmented) training faces."""
    states = [load_file(path) for path in paths]
    averaged = {
        name: sum(state[name] for state in states) / len(states) if tensor.is_floating_point() else tensor
        for name, tensor in states[-1].items()
    }
    model.load_state_dict(averaged)
    batches = [train_pixels[start : start + batch_size] for start in range(0, len(train_pixels), batch_size)]
    torch.optim.swa_utils.update_bn(batches, model, device=model.device)
    model.eval()


@dataclass
class CrowdHeadSettings:
    npz: str
    model: str = "models/xface-vit"
    out: str = "models/xface-vit"
    limit: int | None = 10_000
    """Fit on this many training faces (a seeded sample; None: all 28,709). Features cost ~45 ms a face on a
    busy 2-core CPU; a linear head over 192 numbers needs far fewer faces than that."""
    holdout: float = 0.1
    """Share of those faces kept back to fit the temperature (never the validation split)."""
    weight_decay: float = 1e-3
    steps: int = 300
    seed: int = 0


@torch.no_grad()  # not inference_mode: the crowd head's training reads these tensors
def cls_features(model: XfaceViTForImageClassification, images: np.ndarray, batch_size: int = 500) -> torch.Tensor:
    """(N, 2, hidden) [CLS] features of grey faces, as seen straight and mirrored (the app's two looks)."""
    model.eval()
    parts = []
    for start in range(0, len(images), batch_size):
        pixels = to_pixels(images[start : start + batch_size])
        views = [model.features(view)[0] for view in (pixels, pixels.flip(-1))]
        parts.append(torch.stack(views, 1))
    return torch.cat(parts)


def fit_crowd_head(settings: CrowdHeadSettings) -> dict:
    """Give a trained model its crowd output: a linear head on the frozen body, fitted on FER+ vote shares.

    The body and the FER2013 output stay exactly as they are. The head starts from the FER2013 head and
    learns the crowd's vote shares (soft targets over the seven emotions; see `xface.tools.metrics.crowd_shares`
    for what is left out), on both the straight and the mirrored look. A temperature, fitted on held-out
    training faces for the app's averaged two looks, is then folded into the head's weights.
    """

    with no_hub_progress_bars():
        model = XfaceViTForImageClassification.from_pretrained(settings.model)
    data = np.load(settings.npz)
    shares, known = crowd_shares(data["ferplus_votes_train"], [str(c) for c in data["ferplus_columns"]])
    rng = np.random.default_rng(settings.seed)
    chosen = rng.permutation(np.flatnonzero(known))[: settings.limit]
    held = int(len(chosen) * settings.holdout)
    fit_rows, held_rows = np.sort(chosen[held:]), np.sort(chosen[:held])
    torch.manual_seed(settings.seed)
    features = cls_features(model, data["x_train"][np.concatenate([fit_rows, held_rows])])
    fit_features, held_features = features[: len(fit_rows)], features[len(fit_rows) :]
    fit_targets = torch.from_numpy(shares[fit_rows]).float()

    head = nn.Linear(model.config.hidden_size, model.config.num_labels)
    head.load_state_dict(model.classifier.state_dict())
    optimizer = torch.optim.AdamW(head.parameters(), lr=1e-2, weight_decay=settings.weight_decay)
    inputs, targets = fit_features.reshape(-1, fit_features.shape[-1]), fit_targets.repeat_interleave(2, 0)
    for _ in range(settings.steps):
        optimizer.zero_grad()
        loss = -(targets * head(inputs).log_softmax(-1)).sum(1).mean()
        loss.backward()
        optimizer.step()

    with torch.no_grad():
        held_logits = head(held_features)
    held_targets = torch.from_numpy(shares[held_rows]).float()
    log_temperature = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_temperature], max_iter=100)

    def held_loss() -> torch.Tensor:
        optimizer.zero_grad()
        probs = (held_logits / log_temperature.exp()).softmax(-1).mean(1)  # the app averages both looks
        loss = -(held_targets * probs.clamp_min(1e-7).log()).sum(1).mean()
        loss.backward()
        return loss

    optimizer.step(held_loss)
    temperature = float(log_temperature.detach().exp())
    with torch.no_grad():
        head.weight /= temperature
        head.bias /= temperature
        held_probs = head(held_features).softmax(-1).mean(1).numpy()

    model.config.crowd_head = True
    model.crowd_classifier = head
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    _save_model(model, out)
    result = {
        "faces": {"fit": len(fit_rows), "temperature": len(held_rows)},
        "temperature": temperature,
        "held_out_kl": mean_kl(shares[held_rows], held_probs),
    }
    (out / "crowd_head.json").write_text(json.dumps({"settings": asdict(settings), **result}, indent=1))
    return result
