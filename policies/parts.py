"""Conditioning parts, in the order their tokens enter the sequence and their values flow: each
part may read what the parts above it provide. A new part is one module that subclasses Part
(policies/part.py: the contract) plus one `register` line here; `default` is the options it has
in a config that does not mention it (None: left out), and a `required` part cannot be null."""

from __future__ import annotations

from vla.policies import part as contract
from vla.policies.anchors_part import AnchorsPart
from vla.policies.image_part import ImagePart
from vla.policies.localizer_part import LocalizerPart
from vla.policies.plugins import options_of
from vla.policies.sentence_part import SentencePart
from vla.policies.state_part import StatePart
from vla.policies.words_part import WordsPart
from vla.policies.world_part import WorldPart
from vla.suggest import unknown

PARTS: dict[str, type] = {}
DEFAULT_ON: dict[str, bool] = {}  # in a config that does not mention it
REQUIRED: set[str] = set()


def register(name: str, cls: type, on: bool = False, required: bool = False) -> None:
    contract.register(PARTS, name, cls)
    DEFAULT_ON[name] = on or required
    if required:
        REQUIRED.add(name)


register("words", WordsPart, on=True)
register("sentence", SentencePart)
register("images", ImagePart, required=True)
register("state", StatePart, required=True)
register("world", WorldPart)
register("localizer", LocalizerPart)
register("anchors", AnchorsPart)


def part_options(given: dict) -> dict:
    """{part: its options dataclass or None} for every registered part, in order, from what was
    set ({part: {option: value} | None} or the dataclass itself); the rest keep their default."""
    for name in given:
        if name not in PARTS:
            raise ValueError(unknown("part in policy.parts", name, PARTS))
    out = {}
    for name, cls in PARTS.items():
        value = given.get(name, {} if DEFAULT_ON[name] else None)
        if value is None:
            if name in REQUIRED:
                raise ValueError(f"policy.parts.{name} cannot be null: every policy has it")
            out[name] = None
            continue
        out[name] = options_of(cls, value, f"policy.parts.{name}")
    return out
