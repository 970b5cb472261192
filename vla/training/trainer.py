"""The training loop: one function that every engine runs (alone, or as a Ray Train worker).

    output/policy/                      the latest policy checkpoint (what `vla run/eval` load)
    output/checkpoints/step_NNNNNN/     policy files + optimizer.safetensors + trainer_state.json
    output/checkpoints/LATEST           name of the newest complete checkpoint
    output/metrics.jsonl                one line per logged step and per validation
    output/tensorboard/                 the same, for TensorBoard

Exact resumption: batches depend only on (seed, step) (`StepBatchSampler`), the learning rate
is a function of the step, and checkpoints carry the optimiser's moments and the random-number
state (the teacher-forcing noise draws from it), so a run killed and resumed follows the loss
curve of one that was not.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections import defaultdict
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from vla import atomic, hardware
from vla.datasets import meta, relative_stats
from vla.datasets.loader import EpisodeDataset, StepBatchSampler
from vla.training.config import TrainConfig

CHECKPOINTS = "checkpoints"
LATEST = "LATEST"
VAL_PARTS = ("l1", "target_cm", "goal_cm")  # validation logs these parts of the loss too
RNG_CPU, RNG_CUDA = "rng.cpu", "rng.cuda"  # keys in optimizer.safetensors


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Linear warmup, then cosine decay to lr x min_lr_ratio at the last step."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (
        cfg.min_lr_ratio
        + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    )


def pick_device(cfg: TrainConfig) -> torch.device:
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "train.device=cuda but no CUDA device is visible; use train.device=cpu or auto"
        )
    return torch.device(
        "cuda" if cfg.device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
    )


def latest_checkpoint(output: Path) -> Path | None:
    marker = output / CHECKPOINTS / LATEST
    if not marker.is_file():
        return None
    path = output / CHECKPOINTS / marker.read_text().strip()
    return path if (path / "trainer_state.json").is_file() else None


def save_checkpoint(
    output: Path, policy, optimizer, step: int, cfg: TrainConfig, train_seconds: float = 0.0
) -> Path:
    """Write step_NNNNNN atomically, point LATEST at it, keep the last K, refresh output/policy."""
    name = f"step_{step:06d}"
    target = output / CHECKPOINTS / name
    policy.save_pretrained(target)  # atomic on its own
    tensors, groups = {}, []
    params = [p for p in policy.parameters() if p.requires_grad]
    for i, p in enumerate(params):
        for key, value in optimizer.state.get(p, {}).items():
            tensors[f"{i}.{key}"] = value.detach().cpu().contiguous().reshape(value.shape)
    for g in optimizer.param_groups:
        groups.append({k: v for k, v in g.items() if k != "params"})
    tensors.update(rng_state())
    save_file(tensors, str(target / "optimizer.safetensors"))
    atomic.write_json(
        target / "trainer_state.json",
        {
            "step": step,
            "param_groups": groups,
            "num_params": len(params),
            "train_seconds": train_seconds,
        },
    )
    atomic.write_bytes(output / CHECKPOINTS / LATEST, name.encode())
    kept = sorted(p for p in (output / CHECKPOINTS).glob("step_*") if p.is_dir())
    for old in kept[: -cfg.keep_last]:
        shutil.rmtree(old, ignore_errors=True)
    with atomic.replace_directory(output / "policy") as tmp:
        for f in ("config.json", "model.safetensors", "golden.safetensors"):
            shutil.copy2(target / f, tmp / f)
    return target


def rng_state() -> dict[str, torch.Tensor]:
    """The generators that draw inside a step (the teacher-forcing noise), as tensors."""
    out = {RNG_CPU: torch.get_rng_state()}
    if torch.cuda.is_available():
        out[RNG_CUDA] = torch.cuda.get_rng_state()
    return out


def restore_rng(tensors: dict[str, torch.Tensor]) -> None:
    """Put the generators back where the checkpoint left them (`restore_optimizer`'s "rng";
    a checkpoint from before they were saved resumes with the seed's state, as it did then)."""
    if RNG_CPU in tensors:
        torch.set_rng_state(tensors[RNG_CPU])
    if RNG_CUDA in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors[RNG_CUDA])


def restore_optimizer(path: Path, policy, optimizer) -> dict:
    """Load the optimiser's moments and groups; returns the checkpoint's trainer state, with the
    saved random-number state under "rng" (for `restore_rng`)."""
    state = json.loads((path / "trainer_state.json").read_text())
    params = [p for p in policy.parameters() if p.requires_grad]
    if state["num_params"] != len(params):
        raise ValueError(
            f"{path}: saved for {state['num_params']} trained tensors, this policy has {len(params)}"
        )
    tensors = load_file(str(path / "optimizer.safetensors"))
    for i, p in enumerate(params):
        entries = {
            k.split(".", 1)[1]: v for k, v in tensors.items() if k.split(".", 1)[0] == str(i)
        }
        if entries:
            optimizer.state[p] = {
                k: v.to(p.device) if k != "step" else v for k, v in entries.items()
            }
    for group, saved in zip(optimizer.param_groups, state["param_groups"], strict=True):
        group.update(saved)
    state["rng"] = {k: v for k, v in tensors.items() if k in (RNG_CPU, RNG_CUDA)}
    return state


def fit_parts(policy_cfg, train_set: EpisodeDataset) -> dict:
    """{part: its fitted state} from the training episodes' records (each part's own `fit`)."""
    from vla.policies.parts import PARTS

    context = {"cameras": list(policy_cfg.cameras)}
    return {
        name: PARTS[name].fit(options, train_set.episodes, context)
        for name, options in policy_cfg.parts.items()
        if options is not None
    }


def means_by_key(pairs) -> dict[str, float]:
    """(key, value) pairs -> the mean value of each key, over the pairs that have it."""
    sums, counts = defaultdict(float), defaultdict(int)
    for key, value in pairs:
        sums[key] += value
        counts[key] += 1
    return {k: sums[k] / counts[k] for k in sums}


def group_losses(logs: dict, batch: dict) -> dict[str, float]:
    """Mean per-sample loss by robot and by task (what a mixed batch hides in its mean)."""
    return means_by_key(
        (f"loss/{key}", value)
        for value, robot, task in zip(
            logs["per_sample"].tolist(), batch["robot"], batch["task"], strict=True
        )
        for key in (f"robot/{robot}", f"task/{task}")
    )


def train_loop(
    cfg: TrainConfig, policy_cfg, rank: int = 0, world_size: int = 1, wrap=None, report=None
) -> dict:
    """Train; returns the last logged metrics. `wrap` makes a model distributed (Ray Train)."""
    from vla.policies.vla_policy import VLAPolicy, relative_robots

    torch.manual_seed(cfg.seed)
    output = Path(cfg.output)
    device = pick_device(cfg)
    sources = meta.open_sources(cfg.dataset)
    train_set, val_set = (
        EpisodeDataset(
            cfg.dataset,
            horizon=policy_cfg.horizon,
            split=split,
            val_fraction=cfg.val_fraction,
            cameras=list(policy_cfg.cameras),
            augment=cfg.augment and split == "train",
            sources=sources,
            episodes_per_task=cfg.episodes_per_task,
            state_history=policy_cfg.parts["state"].history,
        )
        for split in ("train", "val")
    )
    schemas, stats = train_set.schemas, meta.robot_stats(sources)
    size = train_set.image_shape(policy_cfg.cameras[0])[0]
    if size != policy_cfg.image_size:
        raise ValueError(
            f"the dataset's images are {size}px but policy.image_size={policy_cfg.image_size}; make them agree"
        )

    resume_from = latest_checkpoint(output) if cfg.resume else None
    if resume_from is not None:
        policy = VLAPolicy.from_pretrained(resume_from)  # with the state its parts fitted
        if policy.config.to_dict() != policy_cfg.to_dict():
            raise ValueError(
                f"{resume_from} was trained with another policy config; use a new output= or train.resume=false"
            )
        policy.train()
    else:
        if policy_cfg.action_mode == "relative":
            stats = relative_stats.with_relative_stats(
                stats, sources, policy_cfg.horizon, relative_robots(schemas)
            )
        policy = VLAPolicy(policy_cfg, schemas, stats, fitted=fit_parts(policy_cfg, train_set))
    policy.to(device)
    params = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    restored = restore_optimizer(resume_from, policy, optimizer) if resume_from is not None else {}
    start = restored.get("step", 0)
    # wall time spent training up to the checkpoint (a resumed run keeps counting from there)
    prior_seconds = restored.get("train_seconds", 0.0)
    model = wrap(policy) if wrap else policy
    if cfg.compile:
        policy.lm.get_decoder().compile()

    micro = cfg.batch_size // cfg.grad_accum
    sampler = StepBatchSampler(
        train_set,
        micro * world_size,
        cfg.seed,
        start * cfg.grad_accum,
        cfg.steps * cfg.grad_accum,
        rank=rank,
        world_size=world_size,
    )
    loader = torch.utils.data.DataLoader(
        train_set, batch_sampler=sampler, num_workers=cfg.workers, pin_memory=device.type == "cuda"
    )
    val_sampler = StepBatchSampler(val_set, micro, cfg.seed + 1, 0, cfg.val_batches)
    val_batches = list(
        torch.utils.data.DataLoader(val_set, batch_sampler=val_sampler, num_workers=0)
    )
    amp = hardware.autocast(device, cfg.amp)

    writer = None
    if rank == 0:
        output.mkdir(parents=True, exist_ok=True)
        _truncate_metrics(output / "metrics.jsonl", start)
        if cfg.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(output / "tensorboard"), purge_step=start)

    def to_device(batch):
        return {
            k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v
            for k, v in batch.items()
        }

    def evaluate() -> dict:
        """Validation loss, and its parts that read on their own (the loss can add terms of
        another scale, such as the target localizer's cross-entropy): "val_l1", "val_target_cm",
        "val_goal_cm", each averaged over the batches that have it (a reach has no goal)."""
        policy.eval()
        pairs = []
        with torch.no_grad():
            for b in val_batches:
                with amp or torch.autocast("cpu", enabled=False):
                    loss, logs = policy(to_device(b))
                pairs.append(("val_loss", loss.item()))
                pairs += [(f"val_{k}", float(logs[k])) for k in VAL_PARTS if k in logs]
        policy.train()
        return means_by_key(pairs)

    last: dict = {}
    if rank == 0 and start == 0:  # where validation starts, so a run shows whether it falls
        _log(output, writer, {"step": 0, **evaluate()})
    t0, seen, it = time.perf_counter(), 0, iter(loader)
    mark = (start, 0.0)  # (step, seconds) at the last log line
    if resume_from is not None:  # after iter(), which draws the workers' seeds from it
        restore_rng(restored["rng"])
    for step in range(start, cfg.steps):
        lr = learning_rate(cfg, step)
        for g in optimizer.param_groups:
            g["lr"] = lr
        logs_acc, groups = defaultdict(float), {}
        for _ in range(cfg.grad_accum):
            batch = to_device(next(it))
            with amp or torch.autocast("cpu", enabled=False):
                loss, logs = model(batch)
            (loss / cfg.grad_accum).backward()
            for k, v in logs.items():
                if k != "per_sample":
                    logs_acc[k] += v / cfg.grad_accum
            groups.update(group_losses(logs, batch))
            seen += len(batch["robot"]) * world_size
        grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        if rank == 0 and (done % cfg.log_every == 0 or done == cfg.steps or done == start + 1):
            elapsed = time.perf_counter() - t0
            rate = (done - start) / elapsed
            last = {
                "step": done,
                "lr": lr,
                "grad_norm": float(grad_norm),
                **dict(logs_acc),
                **groups,
                "steps_per_s": rate,
                "samples_per_s": seen / elapsed,
                "world_size": world_size,
                "train_seconds": prior_seconds + elapsed,
            }
            _log(output, writer, last)
            # the ETA from the steps since the last line: the run-wide rate carries any slow
            # stretch (another job beside it) on to the end
            recent = (done - mark[0]) / max(elapsed - mark[1], 1e-9) if done > mark[0] else rate
            mark = (done, elapsed)
            eta = (cfg.steps - done) / recent if recent > 0 else float("nan")
            print(
                f"step {done}/{cfg.steps}  loss {last['loss']:.4f}  lr {lr:.2e}  {rate:.2f} steps/s  "
                f"{last['samples_per_s']:.1f} samples/s  eta {eta / 60:.1f} min",
                flush=True,
            )
        if rank == 0 and (done % cfg.val_every == 0 or done == cfg.steps):
            val = {"step": done, **evaluate()}
            _log(output, writer, val)
            last.update(val)
            parts = "  ".join(f"{k} {v:.4f}" for k, v in val.items() if k != "step")
            print(f"step {done}  {parts}", flush=True)
        if rank == 0 and (done % cfg.save_every == 0 or done == cfg.steps):
            save_checkpoint(
                output, policy, optimizer, done, cfg, prior_seconds + time.perf_counter() - t0
            )
        if report is not None:
            report(last, done)
    if writer:
        writer.close()
    return last


def _truncate_metrics(path: Path, step: int) -> None:
    """A resumed run rewrites what came after its checkpoint: drop those lines first."""
    if not path.is_file():
        return
    keep = [
        line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step
    ]
    atomic.write_bytes(path, ("\n".join(keep) + "\n" if keep else "").encode())


def _log(output: Path, writer, metrics: dict) -> None:
    with open(output / "metrics.jsonl", "a") as f:
        f.write(json.dumps(metrics) + "\n")
    if writer:
        for k, v in metrics.items():
            if k != "step":
                writer.add_scalar(k, v, metrics["step"])
