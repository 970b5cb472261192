"""`vla eval`: success rates with Wilson intervals, a report, a chart and videos."""

from __future__ import annotations

from vla.evaluation.evaluate import EvalConfig, evaluate


def run(cfg) -> int:
    config = EvalConfig(
        policy_path=str(cfg.policy.path),
        robots=cfg.robots,  # EvalConfig turns them into checked lists (vla.suites.cells)
        tasks=cfg.tasks,
        episodes=cfg.episodes,
        output=cfg.output,
        workers=cfg.workers,
        seed=cfg.seed,
        image_size=cfg.image_size,
        language_checks=cfg.language_checks,
        videos=cfg.videos,
        latency_ms=cfg.latency_ms,
        device=cfg.device,
        ray_address=cfg.ray_address,
        progress=cfg.progress,
        n_action_steps=cfg.n_action_steps,
        suite=cfg.suite,
    )
    results = evaluate(config)
    for condition, block in results["conditions"].items():
        print(
            f"{condition:>9}: mean success {100 * block['mean_success']:.1f}% over {block['episodes']} episodes"
        )
    print(f"report: {cfg.output}/results.md, results.json, chart.png, videos/")
    return 0
