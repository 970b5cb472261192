"""Locate robot description files inside installed distributions, never importing them.

`MENAGERIE_ROOT`, when set to a MuJoCo Menagerie checkout, takes precedence for the models that
Menagerie itself publishes under the same path (the UR5e and the Robotiq 2F-85).
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path


def package_file(distribution: str, relative: str, install_hint: str | None = None) -> Path:
    """A file shipped inside `distribution`, e.g. ("metaworld", "metaworld/assets/...")."""
    hint = install_hint or f"pip install {distribution}"
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"The robot model file {relative} ships in the package {distribution!r}, which is not "
            f"installed. Install it with: {hint}  (or run `make setup`)."
        ) from None
    path = Path(dist.locate_file(relative))
    if not path.is_file():
        raise FileNotFoundError(
            f"{distribution} {dist.version} is installed but has no {relative}. Reinstall it: {hint}"
        )
    return path


def menagerie_file(relative: str, distribution: str, packaged: str) -> Path:
    """`relative` under $MENAGERIE_ROOT when that holds it, else the packaged copy."""
    root = os.environ.get("MENAGERIE_ROOT")
    if root and (Path(root) / relative).is_file():
        return Path(root) / relative
    return package_file(distribution, packaged)
