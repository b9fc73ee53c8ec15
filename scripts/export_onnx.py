"""Export the live path's networks to ONNX, for ONNX Runtime (`xface/vision/runtime.py`).

    python scripts/export_onnx.py            # writes models/mtcnn/*.onnx and models/xface-vit/model.onnx
    python scripts/export_onnx.py --model runs/student   # only that folder's expression model (to compare runs)

Run it again whenever `models/xface-vit/model.safetensors` changes (after training): each export
records the SHA-256 of the weights it came from, and Xface falls back to torch for weights whose
export is missing or stale. Needs the `export` extra (`pip install -e '.[export]'`: onnx, onnxscript);
the app itself needs only onnxruntime. Each export is checked against torch on random input before
it is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facenet_pytorch import MTCNN  # noqa: E402

from xface.vision.classifier import DEFAULT_MODEL, ONNX_FILE  # noqa: E402
from xface.vision.model import XfaceViTForImageClassification, no_hub_progress_bars, rollout_grid  # noqa: E402
from xface.vision.mtcnn import MTCNN_EXPORTS, facenet_weights  # noqa: E402
from xface.vision.runtime import SOURCE_DIGEST_KEY, onnx_session, source_digest  # noqa: E402

OPSET = 18


def _export(module: torch.nn.Module, example: torch.Tensor, outputs: list[str], dynamic: dict, path: Path) -> None:
    import onnx

    module.eval()
    program = torch.onnx.export(
        module,
        (example,),
        input_names=["pixel_values"],
        output_names=outputs,
        dynamic_shapes=({axis: torch.export.Dim(name, min=1) for axis, name in dynamic.items()},),
        opset_version=OPSET,
        dynamo=True,
        verbose=False,
    )
    program.optimize()
    model = program.model_proto
    del model.metadata_props[:]
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))


def _stamp(path: Path, sources: list[Path]) -> None:
    """Record the weights' SHA-256 in the model file (checked at load time)."""
    import onnx

    model = onnx.load_model(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = SOURCE_DIGEST_KEY, source_digest(sources)
    onnx.save_model(model, str(path))


def _check(module: torch.nn.Module, path: Path, shape: tuple[int, ...]) -> float:
    """Largest difference between torch and ONNX Runtime outputs on random input of `shape`."""
    example = torch.rand(*shape) * 2 - 1
    with torch.inference_mode():
        expected = module(example)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = onnx_session(path).run(None, {"pixel_values": example.numpy()})
    return max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected, strict=True))


class _Exported(torch.nn.Module):
    """The classifier as ONNX sees it: pixels in; crowd logits, FER2013 logits and the attention map out."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        output = self.model(pixel_values=pixel_values, output_attentions=True)
        return output.logits, output.fer2013_logits, rollout_grid(output.attentions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="export only this model folder's expression model")
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.model is None:
        _export_mtcnn()
    _export_classifier(args.model or DEFAULT_MODEL)
    return 0


def _export_mtcnn() -> None:
    mtcnn = MTCNN(keep_all=True, device="cpu").eval()
    nets = {
        "pnet": (mtcnn.pnet, torch.rand(1, 3, 60, 80), ["regression", "probabilities"], {0: "batch", 2: "h", 3: "w"}),
        "rnet": (mtcnn.rnet, torch.rand(4, 3, 24, 24), ["regression", "probabilities"], {0: "batch"}),
        "onet": (mtcnn.onet, torch.rand(4, 3, 48, 48), ["regression", "landmarks", "probabilities"], {0: "batch"}),
    }
    for name, (net, example, outputs, dynamic) in nets.items():
        path = MTCNN_EXPORTS / f"{name}.onnx"
        _export(net, example, outputs, dynamic, path)
        _stamp(path, [facenet_weights()[name]])
        check_shape = (2, 3, 97, 131) if name == "pnet" else (7, *example.shape[1:])
        difference = _check(net, path, check_shape)
        print(f"{path}: {path.stat().st_size / 1e3:.0f} kB, largest difference from torch {difference:.1e}")


def _export_classifier(folder: Path) -> None:
    with no_hub_progress_bars():
        both = _Exported(XfaceViTForImageClassification.from_pretrained(folder).eval())
    path = folder / ONNX_FILE
    _export(both, torch.rand(2, 3, 48, 48), ["logits", "fer2013_logits", "attention_map"], {0: "batch"}, path)
    _stamp(path, [folder / "model.safetensors"])
    difference = _check(both, path, (5, 3, 48, 48))
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB, largest difference from torch {difference:.1e}")


if __name__ == "__main__":
    raise SystemExit(main())
