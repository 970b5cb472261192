"""The embodiment schema: what a robot's action and state vectors mean, as plain data.

Every part may import this module (it depends on nothing but the standard library): the envs
produce a schema, the policy checkpoint stores it, and a policy refuses to drive a robot whose
schema differs from the one it was trained with. No simulator is needed to read one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

# Task-space action modes: each is also the env control of the same name (state: the TCP pose).
TASK_SPACE = ("ee_delta", "ee_pose")
ACTION_MODES = ("joint_position", "joint_delta", *TASK_SPACE)


@dataclass(frozen=True)
class Embodiment:
    """One robot's typed interface.

    Actions are `len(joint_names) + 1` numbers: one per arm joint, in `action_mode` units, then
    the gripper command in [0, 1] where `gripper_sign` says which end closes (+1: 1 = closed).
    State is described on its own by `state_names` (its width is theirs); empty means the
    state mirrors the action: the measured arm joints (or TCP pose), then the gripper opening.
    """

    name: str
    joint_names: tuple[str, ...]
    gripper_name: str
    action_mode: str
    joint_units: tuple[str, ...]
    action_low: tuple[float, ...]
    action_high: tuple[float, ...]
    gripper_sign: int
    control_hz: float
    cameras: tuple[str, ...]
    description: str = ""
    state_names: tuple[str, ...] = ()

    def __post_init__(self):
        n = len(self.joint_names) + 1
        if self.action_mode not in ACTION_MODES:
            raise ValueError(
                f"{self.name}: action_mode {self.action_mode!r} is not one of {ACTION_MODES}"
            )
        for field_name in ("action_low", "action_high"):
            if len(getattr(self, field_name)) != n:
                raise ValueError(f"{self.name}: {field_name} needs {n} values (joints + gripper)")
        if len(self.joint_units) != len(self.joint_names):
            raise ValueError(f"{self.name}: one unit per joint")
        if any(lo >= hi for lo, hi in zip(self.action_low, self.action_high, strict=True)):
            raise ValueError(f"{self.name}: every action_low must be below its action_high")
        if self.gripper_sign not in (-1, 1):
            raise ValueError(f"{self.name}: gripper_sign must be +1 or -1")
        if self.control_hz <= 0:
            raise ValueError(f"{self.name}: control_hz must be positive")

    @property
    def action_dim(self) -> int:
        return len(self.joint_names) + 1

    @property
    def state_dim(self) -> int:
        return len(self.state_names) or self.action_dim

    @property
    def state_entry_names(self) -> tuple[str, ...]:
        return self.state_names or self.action_names

    @property
    def action_names(self) -> tuple[str, ...]:
        return (*self.joint_names, self.gripper_name)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Embodiment:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"embodiment schema has unknown fields {sorted(unknown)}")
        tuples = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**tuples)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def mismatch(self, other: Embodiment) -> list[str]:
        """Names of the fields that differ (empty when the schemas agree)."""
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]


def control_of(schema: dict) -> str:
    """The env control (`TabletopEnv(control=...)`) that an embodiment schema's actions drive."""
    return schema["action_mode"] if schema["action_mode"] in TASK_SPACE else "joint"
