"""Franka Emika Panda (7 joints) with a Robotiq 2F-85, as packaged by `gym-hil` (Apache-2.0).

The package drives the arm with torque motors; we put joint position servos in their place
(force limits kept: 87 N m on the first four joints, 12 N m on the wrist) and compensate gravity.
"""

from vla.envs import headless  # noqa: F401  (sets MUJOCO_GL before mujoco loads)

# isort: split

import mujoco

from vla.envs.assets import package_file
from vla.envs.robots.base import (
    RobotDefinition,
    compensate_gravity,
    position_servos,
    robotiq_2f85,
)

ARM = tuple(f"joint{i}" for i in range(1, 8))


def load() -> mujoco.MjSpec:
    path = package_file(
        "gym-hil", "gym_hil/assets/panda.xml", 'pip install --no-deps "gym-hil>=0.1.14"'
    )
    spec = mujoco.MjSpec.from_file(str(path))
    position_servos(spec, ARM, kp=1500.0, kv=150.0, forcerange=(87, 87, 87, 87, 12, 12, 12))
    compensate_gravity(spec)
    return spec


PANDA = RobotDefinition(
    name="panda",
    description="Franka Emika Panda, 7-DoF, with a Robotiq 2F-85 gripper (gym-hil)",
    load=load,
    root_body="link0",
    arm_joints=ARM,
    **robotiq_2f85(),
    base_pos=(-0.5, 0.0, 0.0),
    seed_qpos=(0.0, 0.2, 0.0, -2.2, 0.0, 2.4, 0.785),
    home_height=0.25,
    workspace_half=(0.1, 0.16),
    push_drop=-0.006,  # push 6 mm higher: lower, the pads drag on the table at full reach
)
