"""Rethink Sawyer (7 joints) with Meta-World's parallel gripper, from `metaworld` (MIT).

Meta-World moves the hand with a mocap weld; here the joints are driven by position servos
instead, so the Sawyer takes joint-position actions like every other robot in the scene.
"""

from vla.envs import headless  # noqa: F401  (sets MUJOCO_GL before mujoco loads)

# isort: split

import mujoco

from vla.envs.assets import package_file
from vla.envs.robots.base import (
    GripperSpec,
    RobotDefinition,
    add_servo,
    compensate_gravity,
    position_servos,
)

ARM = tuple(f"right_j{i}" for i in range(7))


def load() -> mujoco.MjSpec:
    spec = mujoco.MjSpec.from_file(
        str(package_file("metaworld", "metaworld/assets/objects/xyz_base.xml"))
    )
    position_servos(spec, ARM, kp=1500.0, kv=150.0)
    # Meta-World's finger gain; its targets of +-1 lie beyond the joint limits and saturate.
    for finger, name in (("r_close", "right_finger"), ("l_close", "left_finger")):
        add_servo(spec, finger, name, kp=400.0, kv=0.0, ctrlrange=[-1.0, 1.0])
    compensate_gravity(spec)
    return spec


SAWYER = RobotDefinition(
    name="sawyer",
    description="Rethink Sawyer, 7-DoF, with Meta-World's parallel gripper (metaworld)",
    load=load,
    root_body="base",
    arm_joints=ARM,
    gripper=GripperSpec(
        actuators=("right_finger", "left_finger"),
        ctrl_open=(-1.0, 1.0),
        ctrl_closed=(1.0, -1.0),
        joint="r_close",
        joint_open=0.0,
        joint_closed=0.04,
    ),
    palm_body="hand",
    tcp_reference="endEffector",
    finger_geoms=("leftpad_geom", "rightpad_geom"),
    grasp_offset=-0.004,
    carry_speed=0.5,
    noslip_iterations=3,  # its thin finger plates hold a cube less firmly than pads do
    base_pos=(-0.6, 0.0, 0.0),
    seed_qpos=(0.0, -0.6, 0.0, 1.8, 0.0, 0.4, 1.57),
    home_height=0.25,
    workspace_half=(0.1, 0.16),
)
