"""What a robot contributes to the shared tabletop: its model, joints, gripper, placement.

A robot module defines one `RobotDefinition` and registers it in `vla.envs.robots.registry`.
The scene builder attaches the model, adds a TCP site between the fingers and a wrist camera,
and derives the embodiment schema from the compiled model.
"""

from __future__ import annotations

from vla.envs import headless  # noqa: F401  (sets MUJOCO_GL before mujoco loads)

# isort: split

from collections.abc import Callable
from dataclasses import dataclass

import mujoco
import numpy as np


@dataclass(frozen=True)
class GripperSpec:
    """How the normalised gripper command g in [0, 1] (1 = closed) drives the actuators."""

    actuators: tuple[str, ...]
    ctrl_open: tuple[float, ...]
    ctrl_closed: tuple[float, ...]
    joint: str  # measured to report the opening
    joint_open: float
    joint_closed: float


def robotiq_2f85(prefix: str = "") -> dict:
    """The RobotDefinition fields of a Robotiq 2F-85 gripper as MuJoCo Menagerie models it (the
    Panda of gym-hil carries the same model): one tendon actuator, 0 open .. 255 closed, the
    right driver joint measured (0 .. 0.8 rad), the TCP on its base body, its `pinch` site the
    grasp centre. `prefix` is what attaching the gripper put before its names ("gripper/")."""
    return {
        "gripper": GripperSpec(
            actuators=(f"{prefix}fingers_actuator",),
            ctrl_open=(0.0,),
            ctrl_closed=(255.0,),
            joint=f"{prefix}right_driver_joint",
            joint_open=0.0,
            joint_closed=0.8,
        ),
        "palm_body": f"{prefix}base",
        "tcp_reference": f"{prefix}pinch",
        "finger_geoms": (f"{prefix}left_pad1", f"{prefix}right_pad1"),
    }


@dataclass(frozen=True)
class RobotDefinition:
    name: str
    description: str
    load: Callable[[], mujoco.MjSpec]  # the robot with its gripper and arm position servos
    root_body: str
    arm_joints: tuple[str, ...]
    gripper: GripperSpec
    palm_body: str  # the body the TCP site is attached to
    tcp_reference: str  # a site whose position marks the grasp centre
    finger_geoms: tuple[str, str]  # finger pads; the line between them is the closing axis
    base_pos: tuple[float, float, float]  # in the scene; the robot faces +x
    seed_qpos: tuple[float, ...]  # starting guess for the home-pose IK
    home_height: float  # TCP height above the table at home
    workspace_half: tuple[float, float]  # objects spawn within +-these around (0, 0)
    control_hz: float = 10.0
    home_yaw: float = 0.0  # TCP yaw at home; grasps pick the cube-symmetric yaw nearest to it
    wrist_camera: (
        tuple[str, tuple[float, float, float], tuple[float, float, float, float], float] | None
    ) = None
    cube_half: float = 0.016
    push_drop: float = 0.0  # push this much lower than the grasp height (fingers' shape)
    push_across: bool = True  # push with the fingers across the push line, else along it
    camera_scale: float = 1.0  # the front camera's distance, relative to a full-size arm's
    tcp_shift: float = 0.0  # grasp centre offset from tcp_reference towards the first finger (m)
    grasp_offset: float = 0.0  # TCP height above the cube centre when the fingers close
    max_speed: float = 0.25  # m/s for the scripted expert's TCP
    noslip_iterations: int = 0  # MuJoCo's no-slip pass: stops held objects creeping out
    carry_speed: float = 1.0  # fraction of max_speed while carrying an object sideways


def add_servo(
    spec: mujoco.MjSpec,
    joint: str,
    name: str,
    kp: float,
    kv: float,
    ctrlrange,
    force: float | None = None,
):
    """A position actuator on `joint`: force = kp (ctrl - q) - kv qdot, optionally clamped."""
    act = spec.add_actuator()
    act.name = name
    act.target = joint
    act.trntype = mujoco.mjtTrn.mjTRN_JOINT
    act.gaintype = mujoco.mjtGain.mjGAIN_FIXED
    act.biastype = mujoco.mjtBias.mjBIAS_AFFINE
    act.gainprm = np.r_[kp, np.zeros(9)]
    act.biasprm = np.r_[0.0, -kp, -kv, np.zeros(7)]
    act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    act.ctrlrange = ctrlrange
    if force is not None:
        act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        act.forcerange = [-force, force]
    return act


def position_servos(spec: mujoco.MjSpec, joints, kp: float, kv: float, forcerange=None) -> None:
    """Drive each joint with a position servo (ctrl = target angle), replacing any actuator on it."""
    joints = list(joints)
    for act in list(spec.actuators):
        if act.target in joints:
            act.delete()
    for i, name in enumerate(joints):
        force = None if forcerange is None else forcerange[i]
        add_servo(spec, name, f"{name}_servo", kp, kv, spec.joint(name).range, force)


def compensate_gravity(spec: mujoco.MjSpec) -> None:
    """Gravity compensation on every robot body, as real arm controllers provide it."""
    for body in spec.bodies:
        if body.name != "world":
            body.gravcomp = 1.0
