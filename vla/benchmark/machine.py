"""What a benchmark ran on: CPU model, cores, threads, accelerator, versions, commit, date."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

from vla import hardware

PACKAGES = ("torch", "transformers", "peft", "mujoco", "gymnasium", "ray", "metaworld")
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def commit() -> str | None:
    """The checkout's commit, with "+changes" when tracked files differ from it."""
    head = git("rev-parse", "--short", "HEAD")
    if head and git("status", "--porcelain", "--untracked-files=no"):
        head += "+changes"
    return head


def describe() -> dict:
    import torch

    name, flags = hardware.cpu()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": name,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_flags": [f for f in CPU_FLAGS if f in flags],
        "gpu": gpu,
        "python": platform.python_version(),
        "versions": {p: version(p) for p in PACKAGES},
        "commit": commit(),
        "mujoco_gl": os.environ.get("MUJOCO_GL"),
    }


def label(info: dict) -> str:
    """One line: the accelerator if any, else the CPU and its cores."""
    if info.get("gpu"):
        return f"{info['gpu']} ({info['cores']} CPU cores)"
    return f"{info['cpu']}, {info['cores']} cores, {info['torch_threads']} torch threads"
