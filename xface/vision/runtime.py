"""ONNX Runtime for the app's networks: the same weights as the torch models, faster, smaller, quicker to load.

The live page runs MTCNN and the expression transformer on every frame. On one CPU thread torch
spends much of that time outside the arithmetic (small convolutions, max-pooling, per-call
overhead); ONNX Runtime runs the same graphs 1.5-2.5 times faster and gives the same numbers
(outputs agree to about 1e-6), and the app need not import torch at all (2.5 s, ~500 MB). The
`.onnx` files are exported from the bundled weights by `scripts/export_onnx.py`. Each one records
the SHA-256 of the weights it was made from, so weights trained or replaced afterwards are never
served by a stale export.

Importing this module imports `xface` first, which sets `ORT_DISABLE_TELEMETRY=1` before onnxruntime loads:
without it ONNX Runtime would send usage events to Microsoft (see `xface/__init__.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import onnxruntime

TORCH_MODULES = frozenset({"torch", "torchvision", "transformers", "facenet_pytorch", "safetensors"})
"""What the `train` extra brings. The base install (`pip install -e .`) leaves them out: the app and
`xface.Analyzer` run the bundled networks on ONNX Runtime and LiteRT."""

SOURCE_DIGEST_KEY = "xface_source_sha256"
"""Metadata key in each exported `.onnx` file: the SHA-256 of the weight files it was exported from."""


class TorchMissing(ModuleNotFoundError):
    """Something that runs on torch was asked for in a base install; the message says what to install."""

    def __init__(self, what: str, name: str = "torch") -> None:
        super().__init__(
            f"{what} needs torch, which the base install leaves out: install the train extra with "
            "`.venv/bin/pip install -e '.[train]'` (about 5 GB)",
            name=name,
        )


def source_digest(paths: Iterable[str | Path]) -> str:
    """One SHA-256 over the bytes of the given files, in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def onnx_session(path: str | Path, threads: int = 1):
    """An ONNX Runtime CPU session on `threads` threads (no thread pool spinning between calls)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    # Between frames the pool would otherwise spin, taking a core from the camera and the browser.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    # No arena: it keeps the largest buffers any call needed (P-Net sees a new size at every pyramid level).
    options.enable_cpu_mem_arena = False
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load_export(onnx_path: str | Path, sources: Iterable[str | Path], threads: int = 1):
    """A session on this `.onnx` file if it was exported from exactly these weight files, else None
    (no export, or a stale one)."""
    onnx_path, sources = Path(onnx_path), [Path(p) for p in sources]
    if not onnx_path.is_file() or not all(p.is_file() for p in sources):
        return None
    session = onnx_session(onnx_path, threads)
    recorded = session.get_modelmeta().custom_metadata_map.get(SOURCE_DIGEST_KEY)
    return session if recorded == source_digest(sources) else None
