"""Xface: read facial expressions locally, explain them, and keep a private journal.

The heavy names (Analyzer, FaceReading) load torch on first use, so that the journal and the
explanations can be imported quickly by themselves.

`transformers.AutoModelForImageClassification.from_pretrained("models/xface-vit")` works after a
plain `import xface`. Registering the model with the Auto classes needs torch (transformers' config
classes import it: 2.5 s), so it waits until transformers loads its Auto classes itself: then
torch is there anyway, and the registration costs only `xface.vision.model`.

ONNX Runtime (1.32 and later) sends usage events to Microsoft and keeps a device id under
`~/.cache/Microsoft/DeveloperTools/` unless `ORT_DISABLE_TELEMETRY=1` is in the environment when it is
imported (set later, and `onnxruntime.disable_telemetry_events()`, do not stop it). Xface promises to send
nothing anywhere, and every way in (the app, the CLI, the library) imports this package before
`xface.vision.runtime` imports onnxruntime, so it is set here, once, for all of them.
"""

import os
import sys
import warnings
from importlib.machinery import PathFinder

_TELEMETRY_WAS_OFF = os.environ.get("ORT_DISABLE_TELEMETRY") == "1"
os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # before anything imports onnxruntime: see the docstring
if "onnxruntime" in sys.modules and not _TELEMETRY_WAS_OFF:  # imported first: too late to switch it off
    warnings.warn(
        "onnxruntime was imported before xface, so its telemetry could not be switched off: "
        "import xface first, or set ORT_DISABLE_TELEMETRY=1 in the environment.",
        RuntimeWarning,
        stacklevel=2,
    )

from xface.emotions import EMOTIONS  # noqa: E402  (after the telemetry switch)

__all__ = ["EMOTIONS", "Analyzer", "FaceReading", "AnalyzerStream"]

_AUTO_MODELS = "transformers.models.auto.modeling_auto"


def __getattr__(name: str):
    if name in ("Analyzer", "FaceReading", "AnalyzerStream"):
        from xface.vision import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)


class _RegisterWithAutoClasses:
    """Import hook: once transformers has loaded its Auto model classes, import `xface.vision.model`, whose
    import registers XfaceViT with them. Duck-typed: importlib.abc alone would triple `import xface`."""

    def find_spec(self, name, path, target=None):
        if name != _AUTO_MODELS:
            return None
        sys.meta_path.remove(self)  # one shot
        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module) -> None:
            run_module(module)
            import xface.vision.model  # noqa: F401  (registers the Auto classes)

        spec.loader.exec_module = exec_module
        return spec


if _AUTO_MODELS in sys.modules:
    import xface.vision.model  # noqa: F401  (transformers is loaded already: register now)
elif not any(isinstance(finder, _RegisterWithAutoClasses) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterWithAutoClasses())
