"""Run Python as a base install would (`pip install -e .`): torch and the rest of the train extra cannot be imported.

`python -m tests.without_torch -m MODULE [ARGS...]` runs a module as `python -m` would;
`python -m tests.without_torch -c CODE` runs code. An import of a blocked name fails as if it were
not installed (ModuleNotFoundError, and `importlib.util.find_spec` finds nothing).
"""

from __future__ import annotations

import runpy
import sys

from xface.vision.runtime import TORCH_MODULES

for name in TORCH_MODULES:
    sys.modules[name] = None  # type: ignore[assignment]  (Python's own way to say "cannot be imported")

if __name__ == "__main__":
    flag, target, *rest = sys.argv[1:]
    sys.argv = [target, *rest]
    if flag == "-m":
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    elif flag == "-c":
        exec(compile(target, "<without torch>", "exec"), {"__name__": "__main__"})
    else:
        raise SystemExit("usage: python -m tests.without_torch (-m MODULE | -c CODE) [ARGS...]")
