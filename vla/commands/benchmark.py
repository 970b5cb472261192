"""`vla benchmark inference|train|rollout|collect|eval_memory|serve|all|report`: where the time goes on this
machine, printed as tables and written as JSON (`output=`); `markdown=` regenerates a page such
as docs/benchmarks.md from that JSON (and any `inputs=`, e.g. a GPU machine's file)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from vla.benchmark import report, results
from vla.suggest import unknown

WHAT = (*results.SECTIONS, "all", "report")


def _settings() -> dict:
    """The policies timed: a checkpoint's robots and statistics, with that checkpoint's own
    recipe (policy: checkpoint) or PolicyConfig's defaults (policy: defaults); a setting's
    `overrides` changes options."""
    return {
        # what `make demo` evaluates: 2 backbone layers, 64 px, conv encoder
        "demo": {"robots_from": "checkpoints/demo", "policy": "checkpoint"},
        # PolicyConfig's defaults: all 30 layers, 128 px patches, LoRA
        "default": {"robots_from": "checkpoints/demo", "policy": "defaults"},
    }


@dataclass
class InferenceSection:
    settings: list[str] | None = None  # None: every one of `settings`
    heads: list[str] | None = None  # None: every registered head (bins also at one action per call)
    mode_heads: list[str] = field(default_factory=lambda: ["chunk"])  # also timed in the fast modes
    # None: eager, compile, bf16, bf16-weights, int8 on CPU; int8 -> reduce-overhead on CUDA
    modes: list[str] | None = None
    horizon: int | None = None  # None: the setting's


@dataclass
class TrainSection:
    settings: list[str] | None = None  # None: every one of `settings`
    batch_size: int = 16
    modes: list[str] = field(default_factory=lambda: ["fp32", "bf16", "compile", "bf16+compile"])
    warmup: int = 1
    repeats: int = 3


@dataclass
class RolloutSection:
    suite: str = "tabletop"
    robots: list[str] = field(default_factory=lambda: ["panda", "so101"])
    tasks: list[str] = field(default_factory=lambda: ["place"])
    image_size: int = 128
    steps: int = 200  # env steps timed per robot (single process)
    workers: list[int] | None = None  # Ray actor counts; None: 1..the core count
    episodes_per_worker: int = 4


@dataclass
class CollectSection:
    suite: str = "tabletop"
    robots: list[str] = field(default_factory=lambda: ["panda", "so101"])
    tasks: list[str] = field(default_factory=lambda: ["lift", "place"])
    episodes: int = 2  # per robot x task, times the worker count
    image_size: int = 128
    workers: list[int] | None = None  # None: 1..the core count


@dataclass
class EvalMemorySection:
    suite: str = "metaworld"
    policy: str = "checkpoints/metaworld_mt50"
    tasks: list[str] = field(default_factory=lambda: ["mt50"])
    episodes: int = 1  # per task
    workers: int = 1  # one env worker holds every task's env in turn
    seed: int = 1000


@dataclass
class ServeSection:
    checkpoint: str = "checkpoints/demo"
    clients: list[int] = field(default_factory=lambda: [1, 4, 8])
    max_batch: int = 8  # each client count also runs with batching off (max_batch 1)
    window_ms: float = 2.0
    seconds: float = 5.0  # of load per row
    round_trips: int = 30  # one-client round trips timed for the overhead


@dataclass
class BenchmarkConfig:
    """`vla benchmark`'s settings: the common ones, the policies timed (`settings`), and one
    section per measurement; the backbone is the `backbone` config group's."""

    # inference | train | rollout | collect | eval_memory | serve | all | report
    what: str = "all"
    output: str = "outputs/benchmark.json"  # JSON results; sections not measured are kept
    markdown: str | None = None  # a page regenerated from `output` and `inputs`
    inputs: list[str] = field(default_factory=list)  # other machines' JSON files for the page
    device: str = "auto"  # auto | cpu | cuda
    warmup: int = 2  # untimed calls before the timed ones
    repeats: int = 5  # timed calls; tables show the median
    settings: dict = field(default_factory=_settings)
    inference: InferenceSection = field(default_factory=InferenceSection)
    train: TrainSection = field(default_factory=TrainSection)
    rollout: RolloutSection = field(default_factory=RolloutSection)
    collect: CollectSection = field(default_factory=CollectSection)
    eval_memory: EvalMemorySection = field(default_factory=EvalMemorySection)
    serve: ServeSection = field(default_factory=ServeSection)


def device_of(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda, but torch sees no CUDA device here: use device=cpu")
    return name


def measure_section(name: str, cfg, device: str) -> dict:
    part = OmegaConf.to_container(cfg[name], resolve=True)
    warmup = int(part.pop("warmup", cfg.warmup))
    repeats = int(part.pop("repeats", cfg.repeats))
    start = time.perf_counter()
    if name in ("inference", "train"):
        from vla.benchmark import inference_speed, train_speed

        module = inference_speed if name == "inference" else train_speed
        settings = OmegaConf.to_container(cfg.settings, resolve=True)
        wanted = part.pop("settings", None) or list(settings)
        missing = [s for s in wanted if s not in settings]
        if missing:
            raise ValueError(unknown("benchmark setting", missing[0], list(settings)))
        section = module.run(
            part, {s: settings[s] for s in wanted}, cfg.backbone.name, device, warmup, repeats
        )
    else:
        from vla.benchmark import collect_speed, eval_memory, rollout_speed, serve_speed

        modules = {"rollout": rollout_speed, "collect": collect_speed, "eval_memory": eval_memory,
                   "serve": serve_speed}  # fmt: skip
        section = modules[name].run(part)
    from vla.benchmark import machine

    section.update(
        machine=machine.describe(),
        warmup=warmup,
        repeats=repeats,
        seconds=time.perf_counter() - start,
        device=device,
    )
    return section


def run(cfg) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    if cfg.what not in WHAT:
        raise ValueError(unknown("benchmark", cfg.what, WHAT))
    out = Path(cfg.output)
    if cfg.what != "report":
        from vla.benchmark import machine

        device = device_of(cfg.device)
        names = results.SECTIONS if cfg.what == "all" else (cfg.what,)
        sections = {}
        for name in names:
            if cfg[name].get("settings", None) == []:
                print(f"== {name}: no settings given, skipped")
                continue
            print(f"== {name} ({machine.label(machine.describe())})", flush=True)
            sections[name] = measure_section(name, cfg, device)
            print("\n".join(report.section_lines(name, sections[name])), flush=True)
        results.write(out, results.merge(out, sections, machine.describe()))
        print(f"results: {out}")
    if cfg.markdown:
        paths = [out, *[Path(p) for p in cfg.inputs or []]]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(
                f"no benchmark results at {missing}: run `vla benchmark all output=PATH` first"
            )
        files = [(str(p), results.read(p)) for p in paths]
        Path(cfg.markdown).write_text(report.page(files, report.INTRO))
        print(f"page: {cfg.markdown}")
    return 0
