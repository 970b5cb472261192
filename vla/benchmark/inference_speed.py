"""Batch-1 latency per action chunk and actions/s of every registered head, and what the fast
paths (torch.compile, bf16, int8 dynamic quantisation; CUDA graphs on a GPU) make of it.

Every head of a setting sits on a copy of the same backbone and sees the same observation. The
fast paths run on a copy of the eager float32 policy, and their chunk is compared with its
chunk: `max_error` is the largest difference as a fraction of the robot's action range.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from vla.benchmark import settings as settings_lib
from vla.benchmark.timing import failure, measure
from vla.policies.heads import HEADS
from vla.policies.vla_policy import VLAPolicy

# bf16: autocast over float32 weights (as training); bf16-weights: the backbone stored in bf16
# (half the bytes a batch-1 pass reads), tokenizers and heads in float32
CPU_MODES = ("eager", "compile", "bf16", "bf16-weights", "int8")
CUDA_MODES = ("eager", "compile", "bf16", "bf16-weights", "reduce-overhead")
SETTLE = 20  # compiled modes: calls until the time per call stops falling


def modes_for(device: str, wanted) -> list[str]:
    allowed = CUDA_MODES if torch.device(device).type == "cuda" else CPU_MODES
    wanted = list(wanted or allowed)
    bad = [m for m in wanted if m not in CPU_MODES + CUDA_MODES]
    if bad:
        raise ValueError(
            f"unknown inference mode(s) {bad}: choose from {sorted(set(CPU_MODES + CUDA_MODES))}"
        )
    return [m for m in wanted if m in allowed]


def fast_path(policy: VLAPolicy, mode: str) -> VLAPolicy:
    """A copy of the eager policy, changed for `mode` (the original stays the reference)."""
    fast = copy.deepcopy(policy)
    decoder = fast.lm.get_decoder()
    if mode == "compile":
        decoder.compile()
    elif mode == "reduce-overhead":  # CUDA graphs through inductor
        decoder.compile(mode="reduce-overhead")
    elif mode == "bf16":
        fast.autocast_bf16 = True  # chunk_of runs it under bf16 autocast, as training does on CUDA
    elif mode == "bf16-weights":
        fast.lm.to(torch.bfloat16)  # the prefix is cast to the backbone's dtype on the way in
    elif mode == "int8":
        from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

        # the backbone's own projections; LoRA's small A/B stay float (peft reads their dtype)
        names = {
            n: default_dynamic_qconfig
            for n, m in fast.lm.named_modules()
            if isinstance(m, torch.nn.Linear) and "lora_" not in n
        }
        quantize_dynamic(fast.lm, names, inplace=True)
    elif mode != "eager":
        raise ValueError(f"unknown inference mode {mode!r}")
    return fast


def chunk_of(policy: VLAPolicy, obs: dict, robot: str) -> np.ndarray:
    torch.manual_seed(0)  # a head that samples (flow) starts from the same noise each call
    low = getattr(policy, "autocast_bf16", False)
    with torch.autocast(policy.device.type, dtype=torch.bfloat16, enabled=low):
        return policy.infer(obs, robot)["actions"]


def relative_error(chunk: np.ndarray, reference: np.ndarray, schema) -> float:
    span = np.asarray(schema.action_high) - np.asarray(schema.action_low)
    return float((np.abs(chunk - reference) / span).max())


def head_variants(heads, horizon: int) -> list[tuple[str, str, int]]:
    """(label, head, chunk length): bins also in OpenVLA's setting, one action per call."""
    out = []
    for head in heads:
        if head == "bins":
            out.append(("bins-1", "bins", 1))
        out.append((head, head, horizon))
    return out


def run(cfg, setting_specs: dict, backbone: str, device: str, warmup: int, repeats: int) -> dict:
    heads = list(cfg.get("heads") or sorted(HEADS))
    unknown = [h for h in heads if h not in HEADS]
    if unknown:
        raise ValueError(f"unknown head(s) {unknown}: registered are {sorted(HEADS)}")
    modes = modes_for(device, cfg.get("modes"))
    mode_heads = list(cfg.get("mode_heads") or heads)
    rows, speedups, same_chunk = [], {}, {}
    for name, spec in setting_specs.items():
        setting = settings_lib.load(name, spec, backbone)
        obs = settings_lib.observation(setting)
        robot, schema = setting.robot, setting.schemas[setting.robot]
        bb = setting.load_backbone()
        rates = {}
        for label, head, horizon in head_variants(
            heads, cfg.get("horizon") or setting.policy.horizon
        ):
            config = settings_lib.with_head(setting, head, horizon)
            policy = VLAPolicy(
                config, setting.schemas, setting.stats, copy.deepcopy(bb), setting.fitted
            )
            policy = policy.to(device).eval()
            reference = chunk_of(policy, obs, robot)
            for mode in modes if head in mode_heads else ["eager"]:
                row = {
                    "setting": name,
                    "head": label,
                    "mode": mode,
                    "layers": policy.lm.config.num_hidden_layers,
                    "image_size": config.image_size,
                    "actions_per_call": len(reference),
                }
                try:
                    fast = policy if mode == "eager" else fast_path(policy, mode)
                    timing = measure(
                        lambda f=fast, o=obs, r=robot: chunk_of(f, o, r),
                        warmup,
                        repeats,
                        device,
                        settle=SETTLE if "compile" in mode or mode == "reduce-overhead" else 0,
                    )
                    row["max_error"] = relative_error(chunk_of(fast, obs, robot), reference, schema)
                except Exception as e:
                    row["error"] = failure(e)
                    rows.append(row)
                    print(f"  {name} {label} {mode}: {row['error']}", flush=True)
                    continue
                row.update(timing)
                row["actions_per_s"] = len(reference) / (timing["median_ms"] / 1000)
                rates[label, mode] = row["actions_per_s"]
                rows.append(row)
                print(
                    f"  {name} {label} {mode}: {timing['median_ms']:.1f} ms/chunk, "
                    f"{row['actions_per_s']:.1f} actions/s, max error {row['max_error']:.2e}",
                    flush=True,
                )
            del policy
        if ("chunk", "eager") in rates and ("bins-1", "eager") in rates:
            speedups[name] = rates["chunk", "eager"] / rates["bins-1", "eager"]
            same_chunk[name] = rates["chunk", "eager"] / rates["bins", "eager"]
    # per setting, eager: OpenVLA's one action per call, and bins at the chunk's own length
    return {
        "rows": rows,
        "chunk_vs_bins_speedup": speedups,
        "chunk_vs_bins_same_chunk": same_chunk,
    }
