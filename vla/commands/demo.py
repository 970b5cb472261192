"""`vla demo`: the main job on embedded defaults. Until the policy lands it shows the stack's
foundation: versions, the embedded backbone loaded and answering, and the registered worlds."""

from __future__ import annotations

from vla.commands import info


def run(cfg) -> int:
    return info.run(cfg)
