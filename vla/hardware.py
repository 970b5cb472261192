"""What this machine's CPU is and can do natively (read once from /proc/cpuinfo on Linux)."""

from __future__ import annotations

import functools
import platform
from pathlib import Path

BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # bf16 dot products in hardware


@functools.cache
def cpu() -> tuple[str, frozenset[str]]:
    """(model name, flags); the platform's name and no flags where /proc/cpuinfo is missing."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine(), frozenset()
    name, flags = None, frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and name is None:
            name = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = frozenset(value.split())
    return name or platform.machine(), flags


def native_bf16() -> bool:
    """True where the CPU multiplies bf16 in hardware: there bf16 autocast trains faster than
    float32; without it bf16 is emulated and many times slower."""
    return any(f in cpu()[1] for f in BF16_FLAGS)


def autocast(device, enabled: bool):
    """bf16 autocast for `device` when enabled and it pays there (any CUDA GPU; a CPU with
    native bf16), else None."""
    import torch

    kind = torch.device(device).type
    if not enabled or (kind == "cpu" and not native_bf16()) or kind not in ("cpu", "cuda"):
        return None
    return torch.autocast(kind, dtype=torch.bfloat16)
