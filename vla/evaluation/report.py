"""The evaluation report: success per robot x task with Wilson 95% intervals, as JSON,
Markdown and a PNG chart; the language conditions beside the main rows (dev and test
paraphrases, the shuffled instruction, the verb swap, left-out combinations)."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

from vla import atomic
from vla.evaluation.wilson import wilson

CONDITIONS = ("train", "heldout", "test", "shuffled", "verb_swap", "combination")
LABELS = {
    "train": "training phrasings",
    "heldout": "dev paraphrases (held out of training, used in design)",
    "test": "test paraphrases (frozen, never used to choose anything)",
    "shuffled": "shuffled instruction (control)",
    "verb_swap": "verb swap: another task's instruction on the same cube (control)",
    "combination": "left-out combinations (never in the training data)",
}


def label(condition: str) -> str:
    """A condition's name in the report; a perturbation's says its kind and magnitude."""
    if condition.startswith("perturb:"):
        from vla.envs import perturbations

        p = perturbations.parse(condition.removeprefix("perturb:"))
        return f"perturbed: {p.kind} {p.magnitude:g} {perturbations.UNITS[p.kind]}"
    return LABELS[condition]


def ordered_conditions(records: list[dict]) -> list[str]:
    """The language conditions in their fixed order, then the perturbations as first run."""
    present = dict.fromkeys(r["condition"] for r in records)
    return [c for c in CONDITIONS if c in present] + [
        c for c in present if c.startswith("perturb:")
    ]


def cells(records: list[dict], condition: str) -> list[dict]:
    tally = defaultdict(lambda: [0, 0])
    groups = {}
    for r in records:
        if r["condition"] == condition:
            key = (r["robot"], r["task"], r.get("combination") or "")
            tally[key][0] += int(r["success"])
            tally[key][1] += 1
            if r.get("group"):
                groups[key] = r["group"]
    out = []
    for key, (s, n) in sorted(tally.items()):
        robot, task, combination = key
        lo, hi = wilson(s, n)
        cell = {
            "robot": robot,
            "task": task,
            "episodes": n,
            "successes": s,
            "success_rate": s / n,
            "ci95": [lo, hi],
        }
        if combination:
            cell["combination"] = combination
        if key in groups:
            cell["group"] = groups[key]
        out.append(cell)
    return out


def seen_combinations(records: list[dict], left_out: list[str]) -> dict | None:
    """The training-phrasing episodes of the left-out combinations' tasks whose scene is not
    one of them: the rate the left-out ones are compared with."""
    from vla.envs.language import in_combination, parse_combination

    tasks = {parse_combination(c)[0] for c in left_out}
    seen = [
        r
        for r in records
        if r["condition"] == "train"
        and r["task"] in tasks
        and not any(in_combination(r["task"], r["initial_state"], c) for c in left_out)
    ]
    if not seen:
        return None
    s = sum(int(r["success"]) for r in seen)
    return {"episodes": len(seen), "successes": s, "success_rate": s / len(seen),
            "ci95": list(wilson(s, len(seen)))}  # fmt: skip


def by_group(rows: list[dict]) -> dict[str, dict]:
    """Each task group's summary (Meta-World's difficulty: the mean over its tasks, as the
    SmolVLA paper reports them), in the order the groups first appear."""
    grouped = defaultdict(list)
    for c in rows:
        if "group" in c:
            grouped[c["group"]].append(c)
    return {g: {"tasks": len(r), **summary(r)} for g, r in grouped.items()}


def summary(rows: list[dict]) -> dict:
    s, n = sum(c["successes"] for c in rows), sum(c["episodes"] for c in rows)
    mean = sum(c["success_rate"] for c in rows) / len(rows) if rows else 0.0
    return {"episodes": n, "successes": s, "mean_success": mean, "pooled_ci95": list(wilson(s, n))}


def write(output: Path, records: list[dict], meta: dict) -> dict:
    by_condition = {c: cells(records, c) for c in ordered_conditions(records)}
    results = {
        **meta,
        "cells": by_condition.get("train", []),
        "conditions": {
            c: {"cells": rows, **summary(rows), "groups": by_group(rows)}
            for c, rows in by_condition.items()
        },
    }
    if "combination" in results["conditions"]:
        seen = seen_combinations(records, meta.get("combinations") or [])
        results["conditions"]["combination"]["seen_combinations"] = seen
    atomic.write_json(output / "results.json", results)
    atomic.write_bytes(output / "results.md", markdown(results).encode())
    chart(output / "chart.png", by_condition, meta.get("policy", ""))
    return results


def perturbation_table(results: dict) -> list[str]:
    """Success under each perturbation beside the unperturbed figure (training phrasings, the
    same seeds), and the share of it that remains."""
    blocks = results["conditions"]
    names = [c for c in blocks if c.startswith("perturb:")]
    if not names or "train" not in blocks:
        return []
    base = blocks["train"]["mean_success"]
    lines = [
        "## Perturbations beside the unperturbed scenes",
        "",
        "| condition | episodes | mean success | pooled 95% CI | share of unperturbed |",
        "| --- | --- | --- | --- | --- |",
        f"| unperturbed | {blocks['train']['episodes']} | {100 * base:.1f}% | "
        f"{100 * blocks['train']['pooled_ci95'][0]:.0f}-{100 * blocks['train']['pooled_ci95'][1]:.0f}% | 100% |",
    ]
    for c in names:
        b = blocks[c]
        share = f"{100 * b['mean_success'] / base:.0f}%" if base else "-"
        lo, hi = b["pooled_ci95"]
        lines.append(
            f"| {label(c)} | {b['episodes']} | {100 * b['mean_success']:.1f}% | "
            f"{100 * lo:.0f}-{100 * hi:.0f}% | {share} |"
        )
    return lines + [""]


def markdown(results: dict) -> str:
    lines = [f"# Evaluation of `{results.get('policy')}`", "", *perturbation_table(results)]
    for condition, block in results["conditions"].items():
        lines += [
            f"## {label(condition)}: mean success {100 * block['mean_success']:.1f}% over {block['episodes']} episodes",
            "",
            "| robot | task | episodes | successes | success | 95% CI (Wilson) |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for c in block["cells"]:
            lo, hi = c["ci95"]
            task = f"{c['task']} ({c['combination']})" if c.get("combination") else c["task"]
            lines.append(
                f"| {c['robot']} | {task} | {c['episodes']} | {c['successes']} | "
                f"{100 * c['success_rate']:.0f}% | {100 * lo:.0f}-{100 * hi:.0f}% |"
            )
        lines.append("")
        if block.get("seen_combinations"):
            seen = block["seen_combinations"]
            lo, hi = seen["ci95"]
            lines += [
                f"Seen combinations of the same tasks (training phrasings): "
                f"{100 * seen['success_rate']:.0f}% ({seen['successes']}/{seen['episodes']}, "
                f"{100 * lo:.0f}-{100 * hi:.0f}%).",
                "",
            ]
        if block.get("groups"):
            lines += [
                "| group | tasks | episodes | mean success over its tasks | pooled 95% CI |",
                "| --- | --- | --- | --- | --- |",
            ]
            for name, g in block["groups"].items():
                lo, hi = g["pooled_ci95"]
                lines.append(
                    f"| {name} | {g['tasks']} | {g['episodes']} | "
                    f"{100 * g['mean_success']:.1f}% | {100 * lo:.0f}-{100 * hi:.0f}% |"
                )
            lines.append("")
    if results.get("test_phrasings_sha256"):
        lines.append(
            f"Test paraphrases: envs/test_phrasings.json, sha256 {results['test_phrasings_sha256']}."
        )
    if "episodes_per_s" in results:
        lines.append(
            f"{results['episodes']} episodes in {results['seconds']:.0f} s ({results['episodes_per_s']:.2f} episodes/s, {results['workers']} workers)."
        )
    return "\n".join(lines) + "\n"


def chart(path: Path, by_condition: dict, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    def name(c):
        return f"{c['robot']}\n{c['task']}" + (
            f"\n{c['combination']}" if c.get("combination") else ""
        )

    names = list(dict.fromkeys(name(c) for rows in by_condition.values() for c in rows))
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(names) + 2), 4))
    width = 0.8 / len(by_condition)
    for k, (condition, rows) in enumerate(by_condition.items()):
        at = np.array([names.index(name(c)) for c in rows])  # a condition may hold some cells
        rate = np.array([c["success_rate"] for c in rows])
        lo = np.clip(
            rate - np.array([c["ci95"][0] for c in rows]), 0, None
        )  # rounding can dip below 0
        hi = np.clip(np.array([c["ci95"][1] for c in rows]) - rate, 0, None)
        ax.bar(
            at + k * width,
            100 * rate,
            width,
            yerr=100 * np.stack([lo, hi]),
            capsize=3,
            label=label(condition),
        )
    ax.set_xticks(np.arange(len(names)) + width * (len(by_condition) - 1) / 2, names, fontsize=8)
    ax.set_ylabel("success % (95% Wilson CI)")
    ax.set_ylim(0, 105)
    ax.set_title(str(title)[-60:], fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic.write_bytes(path, buffer.getvalue())
