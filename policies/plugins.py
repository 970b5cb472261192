"""What heads and conditioning parts share as plug-ins: a registry that refuses a class which
breaks its contract, and options built from what a config says, unknown keys refused by name."""

from __future__ import annotations

import dataclasses


def register(registry: dict, kind: str, name: str, cls: type, base: type) -> None:
    """Adds `cls` to `registry` under `name`, refusing one that does not keep the contract of
    `base` (subclass, an `options` dataclass, no abstract method left)."""
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(f"{kind} {name!r}: {cls!r} must subclass {base.__module__}.{base.__name__}")
    if not (isinstance(cls.options, type) and dataclasses.is_dataclass(cls.options)):
        raise TypeError(
            f"{kind} {name!r}: {cls.__name__}.options must be a dataclass (its options)"
        )
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        raise TypeError(f"{kind} {name!r}: {cls.__name__} does not implement {missing}")
    if name in registry:
        raise ValueError(f"{kind} {name!r} is registered already")
    registry[name] = cls


def options_of(cls: type, value, where: str):
    """`cls.options` from {option: value} (or the dataclass itself), unknown keys refused with
    the options `where` (e.g. "policy.heads.flow") has."""
    from vla.suggest import unknown

    if isinstance(value, cls.options):
        return value
    names = [f.name for f in dataclasses.fields(cls.options)]
    for key in value:
        if key not in names:
            raise ValueError(unknown(f"option of {where}", key, names))
    return cls.options(**value)
