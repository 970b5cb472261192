"""Action heads, picked by `policy.head`. A head turns the backbone's view of the prefix
(text, images, state, embodiment) into an action chunk. A new head is one module that
subclasses ActionHead (policies/action_head.py: the contract) plus one `register` line here;
the policy, the trainer and the tests over HEADS pick it up."""

from __future__ import annotations

from vla.policies.action_head import register
from vla.policies.bins_head import BinsHead
from vla.policies.chunk_head import ChunkHead
from vla.policies.flow_head import FlowHead
from vla.policies.plugins import options_of

HEADS: dict[str, type] = {}
register(HEADS, "bins", BinsHead)
register(HEADS, "chunk", ChunkHead)
register(HEADS, "flow", FlowHead)


def head_options(given: dict) -> dict:
    """{head: its options dataclass} for every registered head, from what was set
    ({head: {option: value}} or the dataclass itself); the rest keep their defaults."""
    from vla.suggest import unknown

    for name in given:
        if name not in HEADS:
            raise ValueError(unknown("head in policy.heads", name, HEADS))
    return {
        name: options_of(cls, given.get(name) or {}, f"policy.heads.{name}")
        for name, cls in HEADS.items()
    }
