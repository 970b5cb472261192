"""Copy a trained policy into `checkpoints/demo/` with what reproduces it.

    python scripts/ship_checkpoint.py RUN_DIR DATASET_DIR checkpoints/demo --command "make checkpoint"

Writes DEST/{config.json, model.safetensors, golden.safetensors} (the trained tensors only:
LoRA adapters, image/state tokenizers, head) and DEST/TRAINED_BY.json: the dataset's
fingerprint, the git commit, the command, the training wall time and the final losses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

from vla import atomic, hardware
from vla.datasets import collection_record
from vla.datasets.fingerprint import fingerprint

FILES = ("config.json", "model.safetensors", "golden.safetensors")


def train_seconds(last: dict) -> float:
    """Wall time spent training: logged since train_seconds existed, else steps / (steps/s)."""
    if "train_seconds" in last:
        return last["train_seconds"]
    return last["step"] / last["steps_per_s"]


def machine() -> str:
    return f"{platform.machine()}, {hardware.cpu()[0]}, {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--command", required=True, help="the command that trained it")
    args = ap.parse_args()

    policy = args.run / "policy"
    missing = [f for f in FILES if not (policy / f).is_file()]
    if missing:
        raise SystemExit(f"{policy} lacks {missing}: finish the training run first")
    metrics = [
        json.loads(line) for line in (args.run / "metrics.jsonl").read_text().splitlines() if line
    ]
    last = [m for m in metrics if "loss" in m][-1]
    val = [m for m in metrics if "val_loss" in m]
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    with atomic.replace_directory(args.dest) as tmp:
        for f in FILES:
            shutil.copy2(policy / f, tmp / f)
        (tmp / "TRAINED_BY.json").write_text(
            json.dumps(
                {
                    "command": args.command,
                    "commit": commit or None,
                    "dataset": {
                        "path": str(args.dataset),
                        **fingerprint(args.dataset),
                        "collection": collection_record.read(args.dataset),
                    },
                    "steps": last["step"],
                    "train_minutes": round(train_seconds(last) / 60, 1),
                    "samples_per_s": round(last["samples_per_s"], 1),
                    "final_loss": round(last["loss"], 4),
                    "final_val_loss": round(val[-1]["val_loss"], 4) if val else None,
                    "machine": machine(),
                },
                indent=2,
            )
            + "\n"
        )
    size = sum(p.stat().st_size for p in args.dest.iterdir()) / 2**20
    print(f"shipped {args.dest} ({size:.1f} MB)")


if __name__ == "__main__":
    main()
