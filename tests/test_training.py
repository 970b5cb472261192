"""`vla train` on CPU: validation loss falls, a killed run resumes onto the same loss curve,
Ray Train runs the same loop in two processes, and bad input gets a message."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.tiny import tiny
from vla.policies.heads import HEADS
from vla.policies.processor import Observation
from vla.policies.vla_policy import VLAPolicy
from vla.training import engines
from vla.training.config import TrainConfig
from vla.training.trainer import learning_rate

TINY_ARGS = [
    "backbone.num_layers=2",
    "policy.image_size=32",
    "policy.horizon=4",
    "policy.n_action_steps=4",
    "train.batch_size=8",
    "train.workers=0",
    "train.log_every=1",
    "train.warmup_steps=2",
    "train.lr=1e-3",
    "train.tensorboard=false",
    "train.val_every=1000",
]


def metrics(output) -> list[dict]:
    return [
        json.loads(line)
        for line in (Path(output) / "metrics.jsonl").read_text().splitlines()
        if line
    ]


def train_losses(output) -> dict[int, float]:
    return {m["step"]: m["loss"] for m in metrics(output) if "loss" in m}


def test_validation_loss_falls_and_the_checkpoint_loads(dataset, tmp_path):
    root, _ = dataset
    cfg = TrainConfig(
        dataset=str(root),
        output=str(tmp_path / "run"),
        steps=40,
        batch_size=8,
        lr=1e-3,
        warmup_steps=4,
        val_every=40,
        save_every=20,
        log_every=10,
        workers=0,
        tensorboard=True,
    )
    engines.run(cfg, tiny())
    vals = [m["val_loss"] for m in metrics(cfg.output) if "val_loss" in m]
    assert vals[0] > 0 and vals[-1] < 0.8 * vals[0], vals
    losses = train_losses(cfg.output)
    assert any(
        k.startswith("loss/robot/") for k in metrics(cfg.output)[-2]
    )  # per-robot losses logged
    assert losses[40] < losses[1]
    policy = VLAPolicy.from_pretrained(Path(cfg.output) / "policy")
    assert policy.config.horizon == 4
    kept = sorted(p.name for p in (Path(cfg.output) / "checkpoints").glob("step_*"))
    assert kept == ["step_000020", "step_000040"]
    assert any((Path(cfg.output) / "tensorboard").iterdir())


def test_killed_run_resumes_onto_the_same_loss_curve(dataset, tmp_path):
    root, _ = dataset
    common = [
        sys.executable,
        "-m",
        "vla.cli",
        "train",
        f"dataset={root}",
        *TINY_ARGS,
        # the localizer's token is teacher-forced with noise: random draws inside each step
        "policy.parts.images.encoder=conv",
        # fitted from the data on the first start, read from the checkpoint on a resume
        "policy.parts.localizer={weight:1.0,token:predicted,table_map:plane}",
        "train.steps=12",
        "train.save_every=4",
    ]
    # the reference uninterrupted run in this process (vla.cli.main, what the script calls):
    # one interpreter start fewer; the killed run and its resume are real processes
    from vla.cli import main

    assert main([*common[3:], f"output={tmp_path / 'ref'}"]) == 0

    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [*common, f"output={out}"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    latest = out / "checkpoints" / "LATEST"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if latest.is_file() and latest.read_text().strip() in ("step_000004", "step_000008"):
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    resumed_from = int(latest.read_text().strip().split("_")[1])
    assert resumed_from < 12, "the kill should land before the end"
    again = subprocess.run([*common, f"output={out}"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    ref, got = train_losses(tmp_path / "ref"), train_losses(out)
    assert sorted(got) == sorted(ref) == list(range(1, 13))
    for step in range(1, 13):
        assert got[step] == pytest.approx(ref[step], rel=1e-5, abs=1e-6), (
            step,
            got[step],
            ref[step],
        )


# Ray Train starting two torch workers and a gloo group is ~25 s on 2 cores: CI's slow step
# runs it. train_loop itself is covered fast by the validation and every-head tests; only the
# engine=ray wrapper (vla/training/engines.py) is this test's alone.
@pytest.mark.slow
def test_ray_train_runs_the_loop_in_two_processes(dataset, tmp_path):
    root, _ = dataset
    cfg = TrainConfig(
        dataset=str(root),
        output=str(tmp_path / "ray"),
        steps=3,
        batch_size=4,
        warmup_steps=1,
        val_every=3,
        save_every=3,
        log_every=1,
        workers=0,
        engine="ray",
        num_workers=2,
        tensorboard=False,
    )
    engines.run(cfg, tiny())
    logged = metrics(cfg.output)
    assert [m["step"] for m in logged if "loss" in m] == [1, 2, 3]
    assert {m["world_size"] for m in logged if "loss" in m} == {2}
    assert (Path(cfg.output) / "policy" / "model.safetensors").is_file()


def test_learning_rate_warms_up_then_decays():
    cfg = TrainConfig(dataset="x", output="y", steps=100, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    rates = [learning_rate(cfg, s) for s in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(rates[10:], rates[11:], strict=False)) and rates[-1] >= 0.1


def test_bad_input_says_what_to_change(dataset, tmp_path, monkeypatch, capsys):
    from vla.cli import main  # in this process: a subprocess per answer cost ~3 s each

    root, _ = dataset

    def refused(*args) -> str:
        assert main(["train", *args]) == 2
        return capsys.readouterr().err

    assert "vla collect" in refused(f"dataset={tmp_path / 'nope'}", f"output={tmp_path / 'o'}")
    assert "Did you mean 'steps'" in refused(f"dataset={root}", "train.stpes=3")
    assert "Did you mean 'bins'" in refused(f"dataset={root}", "policy=bin")
    size = refused(
        f"dataset={root}", f"output={tmp_path / 'o'}", "backbone.num_layers=1", "train.steps=1"
    )
    assert "policy.image_size" in size

    from omegaconf import OmegaConf

    from vla.commands import train as train_cmd

    def oom(*_):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(train_cmd.engines, "run", oom)
    cfg = OmegaConf.create(
        {
            "dataset": str(root),
            "output": str(tmp_path / "o"),
            "backbone": {"name": "smollm2-135m", "num_layers": 1, "dtype": "float32"},
            "policy": {"head": "chunk"},
            "train": {"batch_size": 16},
        }
    )
    with pytest.raises(ValueError, match="train.grad_accum=2"):
        train_cmd.run(cfg)


def two_step_config(root, output) -> TrainConfig:
    return TrainConfig(
        dataset=str(root),
        output=str(output),
        steps=2,
        batch_size=4,
        warmup_steps=1,
        val_every=2,
        save_every=2,
        log_every=1,
        workers=0,
        tensorboard=False,
    )


@pytest.mark.parametrize("head", sorted(HEADS))
def test_every_registered_head_trains_through_the_trainer(dataset, tmp_path, head):
    """A head that drifts from what the trainer reads (e.g. no per-sample losses) fails here."""
    root, _ = dataset
    cfg = two_step_config(root, tmp_path / head)
    last = engines.run(cfg, tiny(head=head))
    assert last["step"] == 2 and torch.isfinite(torch.tensor(last["loss"]))
    assert any(k.startswith("loss/robot/") for k in last)
    VLAPolicy.from_pretrained(Path(cfg.output) / "policy")


def test_relative_conv_policy_trains_and_acts_around_the_measured_joints(dataset, tmp_path):
    """action_mode=relative: the trainer adds the chunk-delta stats, the checkpoint carries them,
    and the acting policy adds the measured joints back (so its actions follow the state)."""
    root, _ = dataset
    cfg = two_step_config(root, tmp_path / "rel")
    policy_cfg = tiny({"images": {"encoder": "conv"}}, action_mode="relative")
    engines.run(cfg, policy_cfg)
    policy = VLAPolicy.from_pretrained(Path(cfg.output) / "policy")
    stats = policy.stats["ur5e"]["action.relative"]
    assert stats["horizon"] == 4
    # deltas span far less than the absolute targets do
    absolute = policy.stats["ur5e"]["action"]
    assert (stats["q99"][0] - stats["q01"][0]) < (absolute["q99"][0] - absolute["q01"][0])
    schema = policy.schemas["ur5e"]
    obs = {
        "images": {
            c: torch.zeros(32, 32, 3, dtype=torch.uint8).numpy() for c in ("front", "wrist")
        },
        "instruction": "touch the red cube",
    }
    chunks = []
    for shift in (0.0, 0.2):
        state = [0.1 + shift] * (schema.state_dim - 1) + [0.5]
        chunks.append(policy.predict_action_chunk({**obs, "state": state}, "ur5e"))
    # the same normalised output lands 0.2 rad further when the joints are 0.2 rad further on
    # (state normalisation changes the network's input too, so compare loosely)
    moved = chunks[1][:, :-1] - chunks[0][:, :-1]
    assert abs(float(moved.mean()) - 0.2) < 0.15


def test_meanstd_action_norm_trains_and_the_checkpoint_acts_with_it(dataset, tmp_path):
    """policy.action_norm=meanstd travels in the checkpoint: the loaded policy normalises with
    the actions' mean and spread, not their percentile range."""
    root, _ = dataset
    cfg = two_step_config(root, tmp_path / "meanstd")
    engines.run(cfg, tiny(action_norm="meanstd"))
    policy = VLAPolicy.from_pretrained(Path(cfg.output) / "policy")
    assert policy.config.action_norm == "meanstd"
    norm, stats = policy.normalizer, policy.stats["ur5e"]["action"]
    mean = torch.zeros(1, norm.max_dim)  # padded to the widest robot's actions
    mean[0, : len(stats["mean"])] = torch.tensor(stats["mean"])
    torch.testing.assert_close(norm.action(mean, ["ur5e"]), torch.zeros_like(mean))


def test_state_history_policy_trains_and_acts_from_the_states_it_saw(dataset, tmp_path):
    """policy.parts.state.history=2: the loader gives earlier states, the checkpoint (golden
    outputs included) carries the motion token, select_action keeps the states itself, and an
    observation for infer() without them is refused with what to send."""
    root, _ = dataset
    cfg = two_step_config(root, tmp_path / "history")
    engines.run(cfg, tiny({"state": {"history": 2}}))
    policy = VLAPolicy.from_pretrained(Path(cfg.output) / "policy")
    assert policy.state_history == 2 and policy.observes == ("past_states",)
    dim = policy.schemas["ur5e"].state_dim
    obs = {
        "images": {c: np.zeros((32, 32, 3), np.uint8) for c in ("front", "wrist")},
        "instruction": "touch the red cube",
        "state": np.full(dim, 0.1, np.float32),
    }
    policy.reset()
    assert policy.select_action(obs, "ur5e").shape == (dim,)
    still = policy.infer({**obs, "past_states": np.stack([obs["state"]] * 2)}, "ur5e")["actions"]
    moved = policy.infer({**obs, "past_states": np.stack([obs["state"] - 0.5] * 2)}, "ur5e")
    assert not np.allclose(still, moved["actions"])  # the motion token reaches the actions
    with pytest.raises(ValueError, match="past_states"):
        policy.infer(obs, "ur5e")
    with pytest.raises(ValueError, match=r"send past_states \(2, state_dim\)"):
        policy.pre.check(Observation.of(obs, "ur5e"))


def test_target_localizer_trains_with_the_policy_and_is_saved(dataset, tmp_path):
    """policy.parts.localizer: the trainer feeds the named cube's pixel and position, the loss
    logs the localizer's error in cm, and the checkpoint carries the localizer."""
    root, _ = dataset
    cfg = two_step_config(root, tmp_path / "probe")
    last = engines.run(cfg, tiny({"localizer": {"weight": 0.5, "token": "none"}}))
    assert 0 < last["target_cm"] < 100  # a finite error, in cm, on a table a metre wide
    policy = VLAPolicy.from_pretrained(Path(cfg.output) / "policy")
    assert policy.parts["localizer"].net is not None
    assert policy.config.parts["localizer"].weight == 0.5


def test_target_localizer_needs_a_fixed_camera_first(dataset, tmp_path):
    """The wrist camera moves, so it has no pixel labels: a clear error, not a silent zero loss."""
    root, _ = dataset
    cfg = two_step_config(root, tmp_path / "wrist_first")
    wrist_first = dataclasses.replace(
        tiny({"localizer": {"weight": 0.5, "token": "none"}}), cameras=("wrist", "front")
    )
    with pytest.raises(KeyError, match="fixed camera first"):
        engines.run(cfg, wrist_first)
    with pytest.raises(ValueError, match=">= 0"):
        tiny({"localizer": {"weight": -1.0}})


def test_privileged_target_is_an_input_the_policy_needs_to_act(dataset, tmp_path):
    """policy.parts.localizer.token=privileged (the diagnosis): the named cube's position trains
    as a token, the saved policy's actions depend on it, and acting without it is refused."""
    root, _ = dataset
    cfg = two_step_config(root, tmp_path / "privileged")
    engines.run(cfg, tiny({"localizer": {"weight": 0.0, "token": "privileged"}}))
    policy = VLAPolicy.from_pretrained(Path(cfg.output) / "policy")
    part = policy.parts["localizer"]
    assert part.net is None and part.target_token is not None
    assert policy.observes == ("target_xy",)
    schema = policy.schemas["ur5e"]
    obs = {
        "images": {
            c: torch.zeros(32, 32, 3, dtype=torch.uint8).numpy() for c in ("front", "wrist")
        },
        "instruction": "touch the red cube",
        "state": [0.1] * schema.state_dim,
    }
    near = policy.predict_action_chunk({**obs, "target_xy": [0.4, 0.0]}, "ur5e")
    far = policy.predict_action_chunk({**obs, "target_xy": [0.4, 0.3]}, "ur5e")
    assert abs(near - far).max() > 1e-4
    with pytest.raises(ValueError, match="target_xy"):
        policy.predict_action_chunk(obs, "ur5e")
    with pytest.raises(ValueError, match="NaN"):
        policy.predict_action_chunk({**obs, "target_xy": [float("nan"), 0.0]}, "ur5e")


def test_predicted_target_token_learns_from_the_localizer_and_acts_from_pixels(dataset, tmp_path):
    """policy.parts.localizer.token=predicted: the token trains on the true position (plus
    noise), the localizer on its labels, and the saved policy acts on the localizer's estimate
    without being told where the cube is."""
    root, _ = dataset
    cfg = two_step_config(root, tmp_path / "predicted")
    last = engines.run(cfg, tiny({"localizer": {"weight": 0.5, "token": "predicted"}}))
    assert 0 < last["target_cm"] < 100
    # validation reports the parts of the loss that read on their own, beside its sum
    assert 0 < last["val_target_cm"] < 100 and 0 < last["val_l1"] < last["val_loss"]
    policy = VLAPolicy.from_pretrained(Path(cfg.output) / "policy")
    part = policy.parts["localizer"]
    assert part.net is not None and part.target_token is not None and policy.observes == ()
    obs = {
        "images": {
            c: torch.zeros(32, 32, 3, dtype=torch.uint8).numpy() for c in ("front", "wrist")
        },
        "instruction": "touch the red cube",
        "state": [0.1] * policy.schemas["ur5e"].state_dim,
    }
    assert policy.predict_action_chunk(obs, "ur5e").shape == (4, policy.schemas["ur5e"].action_dim)
    with pytest.raises(ValueError, match="weight > 0"):
        tiny({"localizer": {"weight": 0.0, "token": "predicted"}})
