"""Shared test settings: headless rendering, no hub access, a repo-root path for subprocess tests."""

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def vla_exe() -> str:
    exe = VENV_BIN / "vla"
    assert exe.exists(), (
        f"the vla console script is not installed beside {sys.executable}; run `make setup`"
    )
    return str(exe)
