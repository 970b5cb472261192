"""Success vs. training minutes: evaluate every checkpoint a `vla train` run kept, plot it.

    python scripts/learning_curve.py RUN_DIR --robots ur5e sawyer --tasks reach lift \
        --episodes 10 --output docs/learning_curve

Each `RUN_DIR/checkpoints/step_*` runs through `vla eval` (training phrasings, new scenes from
seed 1000) with Ray; the x axis is the wall time the run had spent training when it saved that
checkpoint (`train_seconds` in trainer_state.json, kept across resumes). Writes OUTPUT.json and
OUTPUT.png; evaluations already in OUTPUT_evals/ are reused, so a rerun only adds new points.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--robots", nargs="+", default=["ur5e", "sawyer"])
    ap.add_argument("--tasks", nargs="+", default=["reach", "lift"])
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--output", type=Path, default=Path("docs/learning_curve"))
    ap.add_argument("--steps", type=int, nargs="*", help="only these checkpoints' steps")
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import ray

    from vla.evaluation.evaluate import EvalConfig, evaluate

    checkpoints = sorted((args.run / "checkpoints").glob("step_*"))
    if args.steps:
        checkpoints = [c for c in checkpoints if int(c.name.split("_")[1]) in args.steps]
    logged = [
        json.loads(line)
        for line in (args.run / "metrics.jsonl").read_text().splitlines()
        if line and "steps_per_s" in line
    ]

    def minutes(state: dict) -> float:
        """trainer_state's train_seconds; runs from before it existed: step / (steps/s)."""
        if "train_seconds" in state:
            return state["train_seconds"] / 60
        rate = min(logged, key=lambda m: abs(m["step"] - state["step"]))["steps_per_s"]
        return state["step"] / rate / 60

    if not checkpoints:
        raise SystemExit(f"{args.run} has no checkpoints/step_* to evaluate")
    points = []
    for ckpt in checkpoints:
        state = json.loads((ckpt / "trainer_state.json").read_text())
        result = evaluate(
            EvalConfig(
                policy_path=str(ckpt),
                robots=args.robots,
                tasks=args.tasks,
                episodes=args.episodes,
                output=str(args.output.parent / f"{args.output.name}_evals" / ckpt.name),
                workers=args.workers,
                language_checks=False,
                videos=0,
                progress=False,
            )
        )
        block = result["conditions"]["train"]
        points.append(
            {
                "step": state["step"],
                "train_minutes": minutes(state),
                "mean_success": block["mean_success"],
                "episodes": block["episodes"],
                "cells": {f"{c['robot']}/{c['task']}": c["success_rate"] for c in block["cells"]},
            }
        )
        print(
            f"step {state['step']:>6}  {points[-1]['train_minutes']:6.1f} min  "
            f"{100 * block['mean_success']:5.1f}%",
            flush=True,
        )
    ray.shutdown()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(points, indent=2))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    minutes = [p["train_minutes"] for p in points]
    ax.plot(minutes, [100 * p["mean_success"] for p in points], "o-", label="mean", color="k")
    for cell in points[0]["cells"]:
        ax.plot(minutes, [100 * p["cells"][cell] for p in points], ".--", label=cell, alpha=0.7)
    ax.set_xlabel("training wall time on the CPU (minutes)")
    ax.set_ylabel("success on new scenes (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(args.output.with_suffix(".png"), dpi=120)
    print(f"wrote {args.output.with_suffix('.png')} and {args.output.with_suffix('.json')}")


if __name__ == "__main__":
    main()
