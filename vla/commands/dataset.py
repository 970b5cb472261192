"""`vla dataset check DIR [--decode-all] [--rebuild-meta]`: validate a dataset, name the bad file.
`vla dataset track DIR`: add the per-frame target labels to episodes collected without them.
`vla dataset convert OLD NEW`: a dataset in vla's old one-file-per-episode layout as LeRobot v3
datasets, one per robot, and a manifest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vla.datasets import check, convert, meta, track, v3_writer
from vla.datasets import lerobot_v3 as v3


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="vla dataset", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("check", help="validate a dataset directory")
    p.add_argument("path")
    p.add_argument(
        "--decode-all", action="store_true", help="decode every image, not only the first and last"
    )
    p.add_argument(
        "--rebuild-meta",
        action="store_true",
        help="first pack staged episodes and rewrite each robot's derived meta files",
    )
    p = sub.add_parser(
        "track",
        help="replay episodes collected without a per-frame target track and add it "
        "(the localizer's labels for place and push, whose cube moves)",
    )
    p.add_argument("path")
    p = sub.add_parser(
        "convert",
        help="write a dataset of the old one-file-per-episode layout as LeRobot v3 datasets, "
        "one per robot, and a manifest (docs/dataset.md)",
    )
    p.add_argument("path")
    p.add_argument("destination")
    args = parser.parse_args(argv)
    if args.action == "convert":
        try:
            manifest = convert.convert(args.path, args.destination)
        except (FileNotFoundError, ValueError) as e:
            print(f"vla dataset convert: error: {e}", file=sys.stderr)
            return 2
        for d in manifest["datasets"]:
            print(
                f"  {args.destination}/{d['path']}: {d['episodes']} episodes, {d['frames']} frames"
            )
        print(f"manifest: {args.destination}/manifest.json")
        return 0
    if args.action == "track":
        try:
            added = track.add_target_tracks(args.path)
        except (FileNotFoundError, ValueError) as e:  # not a dataset; an episode that won't replay
            print(f"vla dataset track: error: {e}", file=sys.stderr)
            return 2
        print(f"{args.path}: added the target track to {added} episode(s)")
        return 0
    if args.rebuild_meta:
        root = Path(args.path)
        try:
            if v3.is_dataset(root):
                v3_writer.write_meta(root)
                count = 1
            else:
                count = len(meta.finalize(root, rebuild_meta=True)["datasets"])
        except (FileNotFoundError, ValueError) as e:
            print(f"vla dataset check: error: {e}", file=sys.stderr)
            return 2
        print(f"rebuilt the meta files of {count} dataset(s)")
    problems = check.check(args.path, decode_all=args.decode_all)
    for problem in problems:
        print(f"BAD {problem}", file=sys.stderr)
    if problems:
        print(f"{args.path}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    sources = meta.open_sources(args.path)
    episodes = sum(len(s.rows) for s in sources)
    frames = sum(s.info["total_frames"] for s in sources)
    robots = sorted({s.robot for s in sources})
    print(f"{args.path}: OK ({episodes} episodes, {frames} frames, robots {robots})")
    return 0
