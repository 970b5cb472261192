"""`vla dataset check DIR [--decode-all] [--rebuild-meta]`: validate a dataset, name the bad file.
`vla dataset track DIR`: add the per-frame target labels to episodes collected without them.
`vla dataset export DIR DST`: the dataset as LeRobotDataset v3, one per robot, and a manifest."""

from __future__ import annotations

import argparse
import sys

from vla.datasets import check, lerobot_v3, meta, track


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="vla dataset", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("check", help="validate a dataset directory")
    p.add_argument("path")
    p.add_argument(
        "--decode-all", action="store_true", help="decode every image, not only the first and last"
    )
    p.add_argument(
        "--rebuild-meta", action="store_true", help="rewrite meta/ from the episode files first"
    )
    p = sub.add_parser(
        "track",
        help="replay episodes collected without a per-frame target track and add it "
        "(the localizer's labels for place and push, whose cube moves)",
    )
    p.add_argument("path")
    p = sub.add_parser(
        "export",
        help="write the dataset as LeRobotDataset v3 datasets, one per robot, and a manifest "
        "listing them (docs/dataset.md)",
    )
    p.add_argument("path")
    p.add_argument("destination")
    p.add_argument(
        "--file-mb", type=float, default=lerobot_v3.FILE_MB, help="data file size before a new one"
    )
    args = parser.parse_args(argv)
    if args.action == "export":
        try:
            manifest = lerobot_v3.export(args.path, args.destination, args.file_mb)
        except (FileNotFoundError, FileExistsError, ValueError) as e:
            print(f"vla dataset export: error: {e}", file=sys.stderr)
            return 2
        for d in manifest["datasets"]:
            print(
                f"  {args.destination}/{d['path']}: {d['episodes']} episodes, {d['frames']} frames"
            )
        print(f"manifest: {args.destination}/{lerobot_v3.MANIFEST}")
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
        info = meta.finalize(args.path)
        print(f"rebuilt meta/: {info['total_episodes']} episodes, {info['total_frames']} frames")
    problems = check.check(args.path, decode_all=args.decode_all)
    for problem in problems:
        print(f"BAD {problem}", file=sys.stderr)
    if problems:
        print(f"{args.path}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    info = meta.layout.read_info(args.path)
    print(
        f"{args.path}: OK ({info['total_episodes']} episodes, {info['total_frames']} frames, robots {sorted(info['robots'])})"
    )
    return 0
