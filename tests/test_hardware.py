"""bf16 autocast where it pays: CUDA, and CPUs that multiply bf16 natively (the trainer's
default, train.amp=true); never on a CPU that would emulate it (many times slower)."""

import torch

from vla import hardware


def with_flags(monkeypatch, *flags):
    monkeypatch.setattr(hardware, "cpu", lambda: ("test CPU", frozenset(flags)))


def test_cpu_autocast_only_with_native_bf16(monkeypatch):
    with_flags(monkeypatch, "avx2", "avx512_bf16")
    ctx = hardware.autocast("cpu", True)
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.bfloat16
    with ctx:
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with_flags(monkeypatch, "amx_bf16")
    assert hardware.autocast("cpu", True) is not None
    with_flags(monkeypatch, "avx2", "avx512f")
    assert hardware.autocast("cpu", True) is None
    assert hardware.autocast("cpu", False) is None


def test_this_machines_cpu_is_read():
    name, flags = hardware.cpu()
    assert name and isinstance(flags, frozenset)
    assert hardware.native_bf16() == any(f in flags for f in hardware.BF16_FLAGS)
