"""Xface: read facial expressions locally, explain them, and keep a private journal.

The heavy names (Analyzer, FaceReading) load torch on first use, so that the journal and the
explanations can be imported quickly by themselves.
"""

from xface.emotions import EMOTIONS

__all__ = ["EMOTIONS", "Analyzer", "FaceReading", "AnalyzerStream"]


def __getattr__(name: str):
    if name in ("Analyzer", "FaceReading", "AnalyzerStream"):
        from xface import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
