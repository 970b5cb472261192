"""Benchmark JSON -> markdown tables: printed by `vla benchmark`, and docs/benchmarks.md, which
is generated from the JSON files (never typed in)."""

from __future__ import annotations

from vla.benchmark import machine as machine_lib
from vla.benchmark.results import SECTIONS


def table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def num(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def rows_of(section: dict, keys: tuple[str, ...], measured, width: int) -> list[list]:
    """Each row's `keys`, then `measured(row)`'s cells, or the error of a mode that failed."""
    out = []
    for r in section["rows"]:
        tail = ["failed: " + r["error"]] + [""] * (width - 1) if "error" in r else measured(r)
        out.append([r[k] for k in keys] + tail)
    return out


def inference(section: dict) -> list[str]:
    keys = ("setting", "head", "mode", "layers", "image_size", "actions_per_call")
    rows = rows_of(
        section,
        keys,
        lambda r: [num(r["median_ms"]), num(r["actions_per_s"]), f"{r['max_error']:.1e}"],
        3,
    )
    lines = table(
        [
            "setting",
            "head",
            "mode",
            "layers",
            "px",
            "actions/call",
            "ms/chunk (median)",
            "actions/s",
            "max error",
        ],
        rows,
    )
    for name, ratio in section.get("chunk_vs_bins_speedup", {}).items():
        same = section.get("chunk_vs_bins_same_chunk", {}).get(name)
        lines += [
            "",
            f"{name}: chunk gives {ratio:.1f}x the actions/s of bins at one action per "
            f"call (OpenVLA's setting), {same:.1f}x at the same chunk length.",
        ]
    return lines


def percent(share: float | None) -> str:
    """A share as a percentage; "-" where there is none (no ceiling to divide by)."""
    return "-" if share is None else f"{100 * share:.1f}%"


def train(section: dict) -> list[str]:
    peak = section["peak_flops"]
    keys = ("setting", "mode", "layers", "image_size", "batch_size")
    rows = rows_of(
        section,
        keys,
        lambda r: [
            num(r["median_ms"], 0),
            num(r["samples_per_s"]),
            num(r["achieved_flops"] / 1e9),
            percent(r["mfu"]),
            f"{r['loss_error']:.1e}",
        ],
        5,
    )
    return [
        f"Matmul peak measured here: fp32 {num(peak['fp32'] / 1e9)} GFLOP/s, bf16 "
        + (
            "not measured: this CPU has no bf16 in hardware (emulated, so bf16 steps get no MFU)."
            if peak["bf16"] is None
            else f"{num(peak['bf16'] / 1e9)} GFLOP/s (MFU divides by the step's dtype)."
        ),
        "",
        *table(
            [
                "setting",
                "mode",
                "layers",
                "px",
                "batch",
                "ms/step (median)",
                "samples/s",
                "GFLOP/s",
                "MFU",
                "loss error",
            ],
            rows,
        ),
    ]


def rollout(section: dict) -> list[str]:
    single = [
        [
            r["robot"],
            r["task"],
            r["image_size"],
            num(r["state_steps_per_s"], 0),
            num(r["render_steps_per_s"], 0),
        ]
        for r in section["single_process"]
    ]
    robot, task = section["cell"]
    return [
        *table(
            [
                "robot",
                "task",
                "px",
                "env steps/s, state only",
                "env steps/s, rendering front + wrist",
            ],
            single,
        ),
        "",
        f"Scripted-expert episodes over Ray actors ({section['suite']} {robot} {task}, rendering):",
        "",
        *parallel(section["ray"], extra=("steps_per_s", "env steps/s")),
    ]


def parallel(rows: list[dict], extra=None) -> list[str]:
    header = (
        ["workers", "episodes", "episodes/s"]
        + ([extra[1]] if extra else [])
        + ["parallel efficiency"]
    )
    body = []
    for r in rows:
        cells = [r["workers"], r["episodes"], num(r["episodes_per_s"], 2)]
        cells += [num(r[extra[0]], 0)] if extra else []
        body.append(cells + [num(r["parallel_efficiency"], 2)])
    return table(header, body)


def collect(section: dict) -> list[str]:
    return parallel(section["rows"])


def eval_memory(section: dict) -> list[str]:
    rows = [
        [r["suite"], r["policy"], r["tasks"], r["episodes"], r["workers"],
         num(r["worker_peak_rss_mb"], 0), f"< {r['goal_mb']}"]
        for r in section["rows"]
    ]  # fmt: skip
    header = ["suite", "policy", "tasks", "episodes", "env workers", "worker peak RSS (MB)", "goal"]
    return table(header, rows)


def serve(section: dict) -> list[str]:
    rows = [
        [r["clients"], r["max_batch"], r["requests"], num(r["requests_per_s"]), num(r["p50_ms"]),
         num(r["p99_ms"]), num(r["mean_batch"], 2)]
        for r in section["rows"]
    ]  # fmt: skip
    header = ["clients", "max batch", "requests", "requests/s", "p50 ms", "p99 ms", "mean batch"]
    lines = [
        f"`{section['checkpoint']}`, one client on the loopback: in-process `infer` "
        f"{section['in_process_ms']:.1f} ms, through `vla serve` {section['served_ms']:.1f} ms "
        f"(+{section['overhead_ms']:.2f} ms per request).",
        "",
        *table(header, rows),
    ]
    by = {(r["clients"], r["max_batch"]): r["requests_per_s"] for r in section["rows"]}
    for clients in sorted({r["clients"] for r in section["rows"]}):
        one, most = (
            by.get((clients, 1)),
            max((v for (c, b), v in by.items() if c == clients and b > 1), default=None),
        )
        if one and most:
            lines += ["", f"{clients} clients: batching gives {most / one:.2f}x the requests/s."]
    return lines


TIMED_CALLS = ("inference", "train")  # the others time whole runs (rates over all episodes)
RENDER = {
    "inference": inference,
    "train": train,
    "rollout": rollout,
    "collect": collect,
    "eval_memory": eval_memory,
    "serve": serve,
}
TITLES = {
    "inference": "Inference: batch-1 latency per chunk",
    "train": "Training step: samples/s and MFU",
    "rollout": "Rollouts: env steps/s and Ray scaling",
    "collect": "Collection: `vla collect` over Ray workers",
    "eval_memory": "Evaluation workers: resident memory over many tasks",
    "serve": "`vla serve`: loopback overhead and a load test",
}


def section_lines(name: str, section: dict) -> list[str]:
    info = section["machine"]
    how = f"Measured {info['date']}, commit {info.get('commit') or 'unknown'}"
    if name in TIMED_CALLS:
        how += f"; warm-up {section['warmup']}, median of {section['repeats']} repeats"
    return [
        f"### {TITLES[name]}",
        "",
        how + f"; the section took {section['seconds']:.0f} s.",
        "",
        *RENDER[name](section),
        "",
    ]


def machine_lines(info: dict) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
    flags = ", ".join(info["cpu_flags"]) or "none of note"
    return [
        f"## {machine_lib.label(info)}",
        "",
        f"CPU {info['cpu']} ({info['cores']} cores; {flags}); GPU {info['gpu'] or 'none'}; "
        f"Python {info['python']}, {versions}; MUJOCO_GL={info.get('mujoco_gl')}.",
        "",
    ]


def render(data: dict) -> str:
    lines = machine_lines(data["machine"])
    for name in SECTIONS:
        if name in data["sections"]:
            lines += section_lines(name, data["sections"][name])
    return "\n".join(lines)


def page(files: list[tuple[str, dict]], intro: str) -> str:
    """The whole markdown page over one or more result files (one per machine)."""
    parts = [intro.rstrip(), ""]
    for path, data in files:
        parts += [render(data), f"(from `{path}`)", ""]
    return "\n".join(parts)


INTRO = """# Benchmarks

Generated by `vla benchmark` from the JSON files named under each machine; do not edit by hand.
Regenerate with

    vla benchmark all output=docs/benchmarks/cpu.json markdown=docs/benchmarks.md

(`vla benchmark train output=...` re-measures one section and keeps the others; `vla benchmark
report output=... inputs=[other.json] markdown=...` only renders). Every ratio below comes from
one run on one machine, side by side. Measurements made by hand before this command existed
(the H100 training run, PNG against mp4 storage, the loader) are kept in
[benchmark_history.md](benchmark_history.md).
"""
