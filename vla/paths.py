"""Where the project keeps what it derives once and reuses: $VLA_CACHE, default ~/.cache/vla."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("VLA_CACHE") or Path.home() / ".cache" / "vla")
