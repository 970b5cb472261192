"""`vla eval`: success rates with Wilson intervals, a report, a chart and videos."""

from __future__ import annotations

from vla.commands.config_store import build
from vla.evaluation.evaluate import EvalConfig, evaluate


def run(cfg) -> int:
    config = build(EvalConfig, cfg)  # robots and tasks become checked lists (vla.suites)
    results = evaluate(config)
    for condition, block in results["conditions"].items():
        print(
            f"{condition:>9}: mean success {100 * block['mean_success']:.1f}% over {block['episodes']} episodes"
        )
    print(f"report: {config.output}/results.md, results.json, chart.png, videos/")
    return 0
