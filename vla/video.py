"""Episode videos: the cameras side by side as one mp4 (evaluation reports, `vla run`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_video(images: dict, fps: float, path: Path) -> Path:
    """Cameras side by side (sorted by name: front, wrist) as an mp4."""
    import imageio.v3 as iio

    video = np.concatenate(
        [np.stack(images[c]) for c in sorted(images)], axis=2
    )  # (T, H, cams*W, 3)
    iio.imwrite(path, video, fps=int(fps), codec="libx264", macro_block_size=1)
    return path
