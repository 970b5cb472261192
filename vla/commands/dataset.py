"""`vla dataset check DIR [--decode-all] [--rebuild-meta]`: validate a dataset, name the bad file."""

from __future__ import annotations

import argparse
import sys

from vla.datasets import check, meta


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
    args = parser.parse_args(argv)
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
