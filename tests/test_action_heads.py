"""The head contract (policies/action_head.py) is checked in code: the registry refuses a class
that does not keep it, the policy refuses a loss that breaks it, and the flow head reuses its
cached prefix for every integration step."""

import pytest
import torch

from tests.test_policy import HORIZON, make_policy, obs_of
from vla.policies.action_head import ActionHead, checked_loss, register
from vla.policies.heads import HEADS


def test_the_registry_refuses_what_is_not_a_head():
    class NotAHead(torch.nn.Module):
        pass

    class HalfAHead(ActionHead):
        def loss(self, run, prefix, mask, targets, valid, robots):
            return None

    registry = {}
    with pytest.raises(TypeError, match="must subclass"):
        register(registry, "x", NotAHead)
    with pytest.raises(TypeError, match=r"does not implement \['predict'\]"):
        register(registry, "half", HalfAHead)
    assert registry == {}


def test_a_new_head_brings_its_own_options_to_the_config_and_to_hydra(monkeypatch):
    """A head's options are its own dataclass: registering the head is all it takes for
    PolicyConfig, Hydra's policy/base node and the saved config to carry them, with defaults,
    checks and "did you mean" for a mistyped option."""
    import dataclasses

    from hydra import compose, initialize_config_module

    from vla.commands.config_store import policy_defaults
    from vla.commands.config_store import register as register_base
    from vla.policies.configuration import PolicyConfig

    @dataclasses.dataclass
    class EchoOptions:
        gain: float = 2.0

        def __post_init__(self):
            if self.gain <= 0:
                raise ValueError("policy.heads.echo.gain must be > 0")

    class Echo(HEADS["chunk"]):
        options = EchoOptions

    monkeypatch.setitem(HEADS, "echo", Echo)
    cfg = PolicyConfig(head="echo", heads={"echo": {"gain": 3.0}})
    assert cfg.options == EchoOptions(3.0) and cfg.heads["flow"].steps == 10
    assert PolicyConfig.from_dict(cfg.to_dict()) == cfg
    assert policy_defaults()["heads"]["echo"] == {"gain": 2.0}
    with pytest.raises(ValueError, match="Did you mean 'gain'"):
        PolicyConfig(head="echo", heads={"echo": {"gian": 1.0}})
    with pytest.raises(ValueError, match="must be > 0"):
        PolicyConfig(heads={"echo": {"gain": -1.0}})
    with pytest.raises(ValueError, match="Did you mean 'echo'"):
        PolicyConfig(heads={"ecko": {}})

    register_base()
    try:
        with initialize_config_module("vla.configs", version_base=None):
            composed = compose("train", overrides=["policy=flow", "policy.heads.echo.gain=5"])
    finally:  # the ConfigStore is global: later tests compose without the echo head
        monkeypatch.undo()
        register_base()
    assert composed.policy.heads.echo.gain == 5 and composed.policy.heads.flow.steps == 10


def test_configs_saved_before_heads_owned_their_options_still_load():
    from vla.policies.configuration import PolicyConfig

    old = {"head": "flow", "num_bins": 128, "flow_steps": 3, "flow_seed": 7}
    cfg = PolicyConfig.from_dict(old)
    assert (cfg.options.steps, cfg.options.seed, cfg.heads["bins"].num_bins) == (3, 7, 128)


def test_a_loss_without_per_sample_losses_is_refused_by_name():
    loss = torch.tensor(1.0)
    with pytest.raises(TypeError, match="head 'mine'.*per_sample"):
        checked_loss("mine", (loss, {"l1": 1.0}), 4)
    with pytest.raises(TypeError, match=r"\(4,\)"):
        checked_loss("mine", (loss, {"per_sample": torch.ones(3)}), 4)
    with pytest.raises(TypeError, match="scalar"):
        checked_loss("mine", (torch.ones(2), {"per_sample": torch.ones(4)}), 4)
    assert checked_loss("mine", (loss, {"per_sample": torch.ones(4)}), 4)[0] is loss


def test_a_drifting_head_fails_in_the_policy_not_in_the_trainer(demos, monkeypatch):
    """The bins head once returned no per-sample losses and crashed the trainer's first step;
    the policy's forward now names the head and what it owes."""
    from tests.test_policy import batch_of

    chunk = HEADS["chunk"]

    class Drifted(chunk):
        def loss(self, *args, **kw):
            loss, logs = super().loss(*args, **kw)
            return loss, {k: v for k, v in logs.items() if k != "per_sample"}

    monkeypatch.setitem(HEADS, "drifted", Drifted)
    policy = make_policy(demos, "drifted")
    with pytest.raises(TypeError, match="head 'drifted'.*per_sample"):
        policy(batch_of(demos, ["ur5e", "panda"]))


def test_flow_runs_the_prefix_once_and_only_the_action_tokens_per_step(demos, monkeypatch):
    policy = make_policy(demos, "flow", heads={"flow": {"steps": 4}}).eval()
    run = policy.run
    calls = {"start": 0, "full": 0, "step": []}
    start, step, full = run.start, run.step, type(run).__call__

    def counted_start(*a, **k):
        calls["start"] += 1
        return start(*a, **k)

    def counted_step(embeds, *a, **k):
        calls["step"].append(embeds.shape[1])
        return step(embeds, *a, **k)

    def counted_full(self, *a, **k):
        calls["full"] += 1
        return full(self, *a, **k)

    monkeypatch.setattr(run, "start", counted_start)
    monkeypatch.setattr(run, "step", counted_step)
    monkeypatch.setattr(type(run), "__call__", counted_full)
    first = policy.predict_action_chunk(obs_of(demos, "ur5e"), "ur5e")
    assert calls == {"start": 1, "full": 0, "step": [HORIZON] * 4}
    again = policy.predict_action_chunk(obs_of(demos, "ur5e"), "ur5e")
    assert (first == again).all()  # seeded noise: the same inputs act the same


def test_flow_noise_seed_and_steps_matter(demos):
    obs = obs_of(demos, "panda")
    a = make_policy(demos, "flow").eval().predict_action_chunk(obs, "panda")
    b = (
        make_policy(demos, "flow", heads={"flow": {"seed": 1}})
        .eval()
        .predict_action_chunk(obs, "panda")
    )
    assert not (a == b).all()
    with pytest.raises(ValueError, match="flow.steps must be >= 1"):
        make_policy(demos, "flow", heads={"flow": {"steps": 0}})
