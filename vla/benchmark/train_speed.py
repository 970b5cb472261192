"""Training samples/s and model-FLOPs utilisation: float32 vs. bf16 autocast, compiled or not.

One step is what `vla train` does per batch on the trained tensors: forward, backward, gradient
clipping, AdamW. FLOPs are counted by torch's FlopCounterMode over one float32 step (matmuls,
convolutions and attention, forward and backward), and MFU divides the achieved FLOP/s by this
machine's own matmul peak in the step's dtype, measured in the same run (`peak`): a ceiling the
hardware reached here, not a datasheet figure.
"""

from __future__ import annotations

import copy

import torch

from vla import hardware
from vla.benchmark import settings as settings_lib
from vla.benchmark.report import percent
from vla.benchmark.timing import failure, measure
from vla.policies.vla_policy import VLAPolicy

MODES = ("fp32", "bf16", "compile", "bf16+compile")
PEAK_SIZE = 2048  # square matmul side for the peak probe
SETTLE = 8  # compiled steps: more untimed steps until the time per step stops falling


def matmul_peak(device: str, dtype: torch.dtype, repeats: int = 10) -> float:
    """FLOP/s of a large square matmul in `dtype` on `device` (median of repeats)."""
    a = torch.randn(PEAK_SIZE, PEAK_SIZE, device=device, dtype=dtype)
    b = torch.randn(PEAK_SIZE, PEAK_SIZE, device=device, dtype=dtype)
    timing = measure(lambda: a @ b, 2, repeats, device)
    return 2 * PEAK_SIZE**3 / (timing["median_ms"] / 1000)


def step_function(policy, batch: dict, mode: str, device: str):
    params = [p for p in policy.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    amp = torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled="bf16" in mode)

    def step():
        with amp:
            loss, _ = policy(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def step_flops(policy, batch: dict) -> int:
    """Forward + backward FLOPs of one float32 step."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        loss, _ = policy(batch)
        loss.backward()
    policy.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def on_device(batch: dict, device: str) -> dict:
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}


def run(cfg, setting_specs: dict, backbone: str, device: str, warmup: int, repeats: int) -> dict:
    modes = list(cfg.get("modes") or MODES)
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise ValueError(f"unknown train mode(s) {bad}: choose from {list(MODES)}")
    # a CPU without bf16 in hardware emulates it: its bf16 matmul is no ceiling (an autocast
    # step, part fp32, outruns it), so bf16 steps get no MFU there
    emulated = torch.device(device).type == "cpu" and not hardware.native_bf16()
    peak = {
        "fp32": matmul_peak(device, torch.float32),
        "bf16": None if emulated else matmul_peak(device, torch.bfloat16),
    }
    bf16 = "emulated, no MFU" if emulated else f"{peak['bf16'] / 1e9:.1f} GFLOP/s"
    print(f"  matmul peak here: fp32 {peak['fp32'] / 1e9:.1f} GFLOP/s, bf16 {bf16}", flush=True)
    rows = []
    for name, spec in setting_specs.items():
        setting = settings_lib.load(name, spec, backbone)
        size = int(cfg.get("batch_size") or 16)
        batch = on_device(settings_lib.training_batch(setting, setting.policy, size), device)
        reference = VLAPolicy(setting.policy, setting.schemas, setting.stats, fitted=setting.fitted)
        reference = reference.to(device).train()
        flops = step_flops(reference, batch)
        with torch.no_grad():
            torch.manual_seed(0)
            loss32 = float(reference(batch)[0])
        for mode in modes:
            row = {
                "setting": name,
                "mode": mode,
                "batch_size": size,
                "layers": reference.lm.config.num_hidden_layers,
                "image_size": setting.policy.image_size,
                "flops_per_step": flops,
            }
            try:
                policy = copy.deepcopy(reference)
                if "compile" in mode:
                    policy.lm.get_decoder().compile()  # what train.compile=true compiles
                with (
                    torch.no_grad(),
                    torch.autocast(
                        torch.device(device).type, dtype=torch.bfloat16, enabled="bf16" in mode
                    ),
                ):
                    torch.manual_seed(0)
                    row["loss_error"] = abs(float(policy(batch)[0]) - loss32) / max(
                        abs(loss32), 1e-8
                    )
                timing = measure(
                    step_function(policy, batch, mode, device),
                    warmup,
                    repeats,
                    device,
                    settle=SETTLE if "compile" in mode else 0,
                )
            except Exception as e:
                row["error"] = failure(e)
                rows.append(row)
                print(f"  {name} {mode}: {row['error']}", flush=True)
                continue
            row.update(timing)
            seconds = timing["median_ms"] / 1000
            row["samples_per_s"] = size / seconds
            row["achieved_flops"] = flops / seconds
            ceiling = peak["bf16" if "bf16" in mode else "fp32"]
            row["mfu"] = None if ceiling is None else flops / seconds / ceiling
            rows.append(row)
            print(
                f"  {name} {mode}: {timing['median_ms']:.0f} ms/step, {row['samples_per_s']:.1f} "
                f"samples/s, MFU {percent(row['mfu'])}, loss error {row['loss_error']:.1e}",
                flush=True,
            )
            del policy
    return {"peak_flops": peak, "rows": rows}
