"""`vla collect`: scripted-expert demonstrations into a dataset directory."""

from __future__ import annotations

from vla.commands.config_store import TRAINING_PARTS, build
from vla.datasets.collect import CollectConfig, collect

# the exit code of a collection that ran to its end with some cells short of `episodes` (their
# attempts spent): the dataset holds what was kept, so a script may go on; 1 and 2 are errors
SHORT = 3


def run(cfg) -> int:
    config = build(CollectConfig, cfg, ignore=TRAINING_PARTS)  # recipe=X: what vla train reads
    summary = collect(config)
    minutes = summary.seconds / 60
    rate = summary.written / minutes if minutes > 0 else 0.0
    print(f"dataset: {summary.output} (manifest.json lists one LeRobot v3 dataset per robot)")
    print(
        f"  written {summary.written} episodes in {summary.seconds:.1f} s ({rate:.1f} episodes/min), "
        f"{summary.skipped_existing} already there"
    )
    for cell in sorted(set(summary.successes) | set(summary.failures) | set(summary.existing)):
        left, before = summary.left_out[cell], summary.existing[cell]
        print(
            f"  {cell[0]:<7} {cell[1]:<6} kept {summary.successes[cell]}, failed {summary.failures[cell]}"
            + (f", {n} on a retry with less noise" if (n := summary.with_less_noise[cell]) else "")
            + (f", {before} from an earlier run" if before else "")
            + (f", {left} seeds left out ({', '.join(config.leave_out)})" if left else "")
        )
    if summary.worker_restarts:
        print(
            f"  {summary.worker_restarts} worker(s) died and were replaced; their episodes ran again"
        )
    if summary.incomplete:
        print(
            f"  incomplete (attempt budget spent): {summary.incomplete}; the dataset holds what "
            "was kept (exit code 3). For more, run the same command again with a larger "
            "max_attempts_factor"
            + (", less action_noise or action_noise_retries=2" if config.action_noise else "")
        )
        return SHORT
    return 0
