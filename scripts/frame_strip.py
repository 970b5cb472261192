"""A strip of evenly spaced frames from episode videos (front | wrist), for the README.

    python scripts/frame_strip.py outputs/demo/eval/videos/ur5e_lift_seed1000.mp4 ... \
        --output docs/demo_strip.png --frames 6 --scale 2

One row per video; each frame keeps the cameras side by side as `vla eval` recorded them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="+", type=Path)
    ap.add_argument("--output", type=Path, required=True)
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--scale", type=int, default=2)
    args = ap.parse_args()

    import imageio.v3 as iio
    from PIL import Image

    rows = []
    for path in args.videos:
        video = iio.imread(path)  # (T, H, W, 3)
        picks = np.linspace(0, len(video) - 1, args.frames).round().astype(int)
        gap = np.full((video.shape[1], 4, 3), 255, np.uint8)
        row = [x for i in picks for x in (video[i], gap)][:-1]
        rows.append(np.concatenate(row, axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    strip = np.concatenate(rows, axis=0)
    image = Image.fromarray(strip)
    image = image.resize((image.width * args.scale, image.height * args.scale), Image.NEAREST)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.output)
    print(f"wrote {args.output} ({image.width}x{image.height})")


if __name__ == "__main__":
    main()
