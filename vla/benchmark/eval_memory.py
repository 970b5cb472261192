"""Resident memory of evaluation workers: one `vla eval` over many tasks with one Ray env worker,
and the most memory that worker held (each Meta-World task is its own MuJoCo model; a worker
keeps only its last few envs, vla/evaluation/workers.py)."""

from __future__ import annotations

import tempfile

GOAL_MB = 1536  # an env worker stays under 1.5 GB resident, so several evaluations fit a box


def run(cfg: dict) -> dict:
    from vla.evaluation.evaluate import EvalConfig, evaluate

    with tempfile.TemporaryDirectory() as tmp:
        eval_cfg = EvalConfig(
            policy_path=cfg["policy"],
            robots=None,
            tasks=list(cfg["tasks"]),
            episodes=int(cfg["episodes"]),
            output=tmp,
            workers=int(cfg["workers"]),
            seed=int(cfg["seed"]),
            language_checks=False,
            videos=0,
            progress=False,
            suite=cfg["suite"],
        )
        results = evaluate(eval_cfg)
    row = {
        "suite": cfg["suite"],
        "policy": cfg["policy"],
        "tasks": len(results["cells"]),
        "episodes": results["episodes"],
        "workers": eval_cfg.workers,
        "worker_peak_rss_mb": results["worker_peak_rss_mb"],
        "goal_mb": GOAL_MB,
    }
    print(
        f"  {row['suite']}: {row['tasks']} tasks, {row['episodes']} episodes; env worker peak "
        f"{row['worker_peak_rss_mb']:.0f} MB resident (goal < {GOAL_MB} MB)",
        flush=True,
    )
    return {"rows": [row]}
