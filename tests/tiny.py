"""The smallest policy config the tests train and save: 2 backbone layers, 32 px, 16 px patches,
chunks of 4. The plumbing, not the skill."""

from vla.policies.configuration import PolicyConfig

TINY_POLICY = dict(
    head="chunk",
    horizon=4,
    n_action_steps=4,
    num_layers=2,
    image_size=32,
    parts={"images": {"patch_size": 16}},
)


def tiny(parts: dict | None = None, **over) -> PolicyConfig:
    """TINY_POLICY with these parts ({part: options}) on top of its patches, and `over`."""
    return PolicyConfig(
        **{**TINY_POLICY, **over, "parts": {**TINY_POLICY["parts"], **(parts or {})}}
    )
