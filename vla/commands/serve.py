"""`vla serve policy.path=CKPT`: the policy behind a websocket (openpi's protocol) until SIGTERM."""

from __future__ import annotations

from dataclasses import dataclass

from vla.serving.server import ServeOptions


@dataclass
class ServeConfig(ServeOptions):
    """`vla serve`'s settings: the server's (ServeOptions, vla/serving/server.py) and which
    policy it serves (`policy.path=` on the command line, as in `vla eval`)."""

    policy_path: str | None = None  # a checkpoint directory
    device: str = "auto"  # auto | cpu | cuda

    def check(self) -> None:
        from pathlib import Path

        if not self.policy_path or not Path(self.policy_path).is_dir():
            raise FileNotFoundError(
                f"no checkpoint at {self.policy_path!r}: serve one with policy.path=CKPT "
                "(e.g. checkpoints/demo)"
            )
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")


def run(cfg) -> int:
    import dataclasses

    import torch

    from vla.commands.config_store import build
    from vla.policies.vla_policy import VLAPolicy
    from vla.serving.server import PolicyServer

    config = build(ServeConfig, cfg)
    config.check()
    device = config.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    policy = VLAPolicy.from_pretrained(config.policy_path, device=device)
    policy.eval()
    options = ServeOptions(
        **{f.name: getattr(config, f.name) for f in dataclasses.fields(ServeOptions)}
    )
    if options.host not in ("127.0.0.1", "localhost", "::1") and options.token is None:
        print(f"warning: serving on {options.host} without a token: anyone who reaches it can "
              "drive the policy (set token=...)", flush=True)  # fmt: skip
    print(f"policy {config.policy_path}: robots {policy.robots}, chunks of {policy.config.horizon}")
    PolicyServer(policy, options).run_forever()
    print("stopped")
    return 0
