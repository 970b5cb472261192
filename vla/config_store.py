"""Each policy option is defined once, in `PolicyConfig` (policies/configuration.py), with its
default and its comment. Hydra gets those defaults from here as the `policy/base` node, and each
`configs/policy/*.yaml` holds only what its choice changes on top of it."""

from __future__ import annotations

# options the backbone group sets (configs/backbone/), not the policy group
BACKBONE_FIELDS = ("backbone", "num_layers", "dtype")


def policy_defaults() -> dict:
    from vla.policies.configuration import PolicyConfig

    values = PolicyConfig().to_dict()  # the form a saved config has: lists, plain dicts
    return {k: v for k, v in values.items() if k not in BACKBONE_FIELDS}


def register() -> None:
    """Stores `policy/base` in Hydra's ConfigStore; call before composing (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(group="policy", name="base", node=policy_defaults())
