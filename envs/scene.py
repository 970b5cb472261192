"""The shared tabletop: a table, three coloured cubes, a bowl, a plate, a target mark, cameras,
and one robot attached at its base. Built with MjSpec from the robot's own model files.

`build(robot_name)` returns a compiled `mujoco.MjModel` and a `SceneIndex` of the ids the env
needs. Models are cached per process (compiling the meshes takes ~0.1-0.5 s); each env gets
its own copy.
"""

from __future__ import annotations

from vla.envs import headless  # noqa: F401  (sets MUJOCO_GL before mujoco loads)

# isort: split

import copy
import functools
import os
from dataclasses import dataclass

import mujoco
import numpy as np

from vla.envs import meshes
from vla.envs.robots import registry
from vla.envs.robots.base import RobotDefinition

CUBE_COLORS = {
    "red": (0.85, 0.12, 0.1, 1.0),
    "green": (0.15, 0.65, 0.2, 1.0),
    "blue": (0.12, 0.3, 0.85, 1.0),
}
# extra cubes that no instruction names (the distractor perturbation), in colours no
# instruction uses; built only into the models of envs asked for them
DISTRACTOR_COLORS = ((0.9, 0.85, 0.15, 1.0), (0.6, 0.25, 0.7, 1.0), (0.95, 0.95, 0.95, 1.0))
RECEPTACLES = ("bowl", "plate")
BOWL_RADIUS, BOWL_WALL = 0.05, 0.022
PLATE_RADIUS = 0.05
MARK_RADIUS = 0.03
TABLE_TOP = 0.0
ROBOT = "robot/"  # name prefix of everything the robot model brings


@dataclass
class SceneIndex:
    """Ids into the compiled model, resolved once."""

    robot: RobotDefinition
    arm_qpos: np.ndarray  # (n,) qpos addresses of the arm joints
    arm_dof: np.ndarray  # (n,) dof addresses
    arm_range: np.ndarray  # (n, 2) joint limits
    arm_actuators: np.ndarray  # (n,) actuator ids, ctrl = joint target
    gripper_actuators: np.ndarray
    gripper_qpos: int
    tcp_site: int
    cube_qpos: dict[str, int]  # colour -> qpos address of the cube's free joint
    cube_body: dict[str, int]
    distractor_qpos: list[int]  # qpos addresses of the distractor cubes' free joints
    mocap: dict[str, int]  # "bowl" / "plate" / "mark" -> mocap index
    home_qpos: np.ndarray  # (n,) arm pose with the TCP above the workspace, pointing down
    cameras: tuple[str, ...]
    robot_geoms: np.ndarray  # geom ids of the robot (for contact checks)
    finger_reach: float = 0.0  # how far the closed fingers reach sideways from the TCP axis (m)


def look_at(pos, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Quaternion of a MuJoCo camera at `pos` looking at `target` (cameras look along -z)."""
    f = np.asarray(target, float) - np.asarray(pos, float)
    f /= np.linalg.norm(f)
    x = np.cross(f, up)
    x /= np.linalg.norm(x)
    y = np.cross(x, f)
    mat = np.stack([x, y, -f], axis=1)
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, mat.ravel())
    return quat


def _table(spec: mujoco.MjSpec) -> None:
    wb = spec.worldbody
    spec.option.timestep = 0.002
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10  # firm, non-slipping grasps
    spec.visual.global_.offwidth = 640
    spec.visual.global_.offheight = 480
    spec.add_material(name="table", rgba=[0.62, 0.5, 0.38, 1.0])
    spec.add_material(name="floor", rgba=[0.3, 0.32, 0.35, 1.0])
    wb.add_light(
        pos=[0.3, -0.3, 1.5], dir=[-0.2, 0.2, -1.0], castshadow=False, diffuse=[0.7, 0.7, 0.7]
    )
    wb.add_light(
        pos=[-0.5, 0.5, 1.2], dir=[0.3, -0.3, -1.0], castshadow=False, diffuse=[0.35, 0.35, 0.35]
    )
    wb.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[3, 3, 0.1],
        pos=[0, 0, -0.75],
        material="floor",
    )
    wb.add_geom(
        name="table",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[0.8, 0.55, 0.375],
        pos=[-0.2, 0, TABLE_TOP - 0.375],
        material="table",
        friction=[1.0, 0.005, 0.0001],
    )


def _distractors(spec: mujoco.MjSpec, cube_half: float, count: int) -> None:
    for i in range(count):
        body = spec.worldbody.add_body(name=f"distractor_{i}", pos=[0.3 + 0.1 * i, 0.6, cube_half])
        body.add_freejoint(name=f"distractor_{i}")
        body.add_geom(
            name=f"distractor_{i}",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=[cube_half] * 3,
            rgba=list(DISTRACTOR_COLORS[i]),
            mass=0.03,
            friction=[1.5, 0.01, 0.0005],
            condim=4,
        )


def _objects(spec: mujoco.MjSpec, cube_half: float) -> None:
    wb = spec.worldbody
    for i, (color, rgba) in enumerate(CUBE_COLORS.items()):
        body = wb.add_body(name=f"cube_{color}", pos=[0.3 + 0.1 * i, 0.4, cube_half])
        body.add_freejoint(name=f"cube_{color}")
        body.add_geom(
            name=f"cube_{color}",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=[cube_half] * 3,
            rgba=list(rgba),
            mass=0.03,
            friction=[1.5, 0.01, 0.0005],
            condim=4,
        )
    bowl = wb.add_body(name="bowl", mocap=True, pos=[0.3, -0.4, 0])
    grey = [0.85, 0.85, 0.82, 1.0]
    bowl.add_geom(
        type=mujoco.mjtGeom.mjGEOM_CYLINDER,
        size=[BOWL_RADIUS, 0.003, 0],
        pos=[0, 0, 0.003],
        rgba=grey,
    )
    n = 14
    for k in range(n):
        a = 2 * np.pi * k / n
        bowl.add_geom(
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=[0.004, BOWL_RADIUS * np.tan(np.pi / n) + 0.002, BOWL_WALL / 2],
            pos=[BOWL_RADIUS * np.cos(a), BOWL_RADIUS * np.sin(a), BOWL_WALL / 2],
            euler=[0, 0, a],
            rgba=grey,
        )
    plate = wb.add_body(name="plate", mocap=True, pos=[0.4, -0.4, 0])
    plate.add_geom(
        type=mujoco.mjtGeom.mjGEOM_CYLINDER,
        size=[PLATE_RADIUS, 0.004, 0],
        pos=[0, 0, 0.004],
        rgba=[0.95, 0.95, 0.95, 1],
    )
    plate.add_geom(
        type=mujoco.mjtGeom.mjGEOM_CYLINDER,
        size=[PLATE_RADIUS * 0.7, 0.0005, 0],
        pos=[0, 0, 0.0085],
        rgba=[0.8, 0.85, 0.95, 1],
        contype=0,
        conaffinity=0,
    )
    mark = wb.add_body(name="mark", mocap=True, pos=[0.5, -0.4, 0])
    mark.add_geom(
        type=mujoco.mjtGeom.mjGEOM_CYLINDER,
        size=[MARK_RADIUS, 0.0008, 0],
        pos=[0, 0, 0.0008],
        rgba=[1.0, 0.55, 0.1, 1],
        contype=0,
        conaffinity=0,
    )


def _tcp_frame(model: mujoco.MjModel, data: mujoco.MjData, robot: RobotDefinition):
    """World position and axes (x = closing direction, z = approach) of the grasp centre."""
    palm = model.body(ROBOT + robot.palm_body).id
    tcp = data.site(ROBOT + robot.tcp_reference).xpos.copy()
    # The approach axis is the last arm joint's (the wrist roll on every arm here), pointing
    # towards the fingers: then yaw about it is free whatever the arm's number of joints.
    approach = data.xaxis[model.joint(ROBOT + robot.arm_joints[-1]).id].copy()
    approach *= np.sign(approach.dot(tcp - data.xpos[palm])) / np.linalg.norm(approach)
    a, b = (data.geom_xpos[model.geom(ROBOT + n).id] for n in robot.finger_geoms)
    closing = b - a
    closing -= approach * closing.dot(approach)
    closing /= np.linalg.norm(closing)
    tcp = tcp - closing * robot.tcp_shift
    return tcp, np.stack([closing, np.cross(approach, closing), approach], axis=1), palm


def add_tcp_and_wrist_camera(spec: mujoco.MjSpec, robot: RobotDefinition) -> None:
    """Place a TCP site (consistent axes on every robot) and a wrist camera on the palm."""
    model = spec.compile()
    data = mujoco.MjData(model)
    qadr = [model.joint(ROBOT + j).qposadr[0] for j in robot.arm_joints]
    data.qpos[qadr] = robot.seed_qpos
    mujoco.mj_kinematics(model, data)
    tcp, axes, palm = _tcp_frame(model, data, robot)
    palm_rot = data.xmat[palm].reshape(3, 3)
    local_pos = palm_rot.T @ (tcp - data.xpos[palm])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, (palm_rot.T @ axes).ravel())
    body = spec.body(ROBOT + robot.palm_body)
    body.add_site(
        name="tcp", pos=local_pos, quat=quat, size=[0.006, 0, 0], rgba=[1, 0, 1, 0], group=5
    )
    # Wrist camera: behind the grasp centre, offset sideways of the fingers, looking at it.
    reach = np.linalg.norm(tcp - data.xpos[palm])
    cam_world = tcp - axes[:, 2] * (0.6 * reach) + axes[:, 1] * 0.085
    look = tcp + axes[:, 2] * 0.08
    f = look - cam_world
    f /= np.linalg.norm(f)
    x = axes[:, 0] - f * axes[:, 0].dot(f)
    x /= np.linalg.norm(x)
    cam_mat = np.stack([x, np.cross(-f, x), -f], axis=1)
    cam_quat = np.zeros(4)
    mujoco.mju_mat2Quat(cam_quat, (palm_rot.T @ cam_mat).ravel())
    body.add_camera(
        name="wrist", pos=palm_rot.T @ (cam_world - data.xpos[palm]), quat=cam_quat, fovy=70
    )


def compose(robot: RobotDefinition, distractors: int = 0) -> mujoco.MjSpec:
    spec = mujoco.MjSpec()
    spec.modelname = f"tabletop_{robot.name}"
    spec.compiler.degree = False  # every robot file here is in radians; the parent's setting wins
    _table(spec)
    spec.option.noslip_iterations = robot.noslip_iterations
    _objects(spec, robot.cube_half)
    _distractors(spec, robot.cube_half, distractors)
    # Third-person view from across the table, framed to the robot's size.
    k = robot.camera_scale
    front = np.array([0.5, 0.22, 0.45]) * k
    target = [-0.12 * k, 0.0, 0.05 * k]
    spec.worldbody.add_camera(name="front", pos=front, quat=look_at(front, target), fovy=55)
    frame = spec.worldbody.add_frame(pos=list(robot.base_pos))
    robot_spec = robot.load()
    frame.attach_body(robot_spec.body(robot.root_body), ROBOT, "")
    return spec


@functools.cache
def _build_cached(robot_name: str, distractors: int = 0) -> tuple[mujoco.MjModel, SceneIndex]:
    from vla.envs import ik  # local: ik needs a compiled model of this scene

    robot = registry.get(robot_name)
    spec = compose(robot, distractors)
    add_tcp_and_wrist_camera(spec, robot)
    max_faces = os.environ.get("VLA_MESH_MAX_FACES", str(meshes.DEFAULT_MAX_FACES))
    if max_faces.lower() != "none":  # "none" draws the original meshes
        meshes.decimate(spec, spec.compile(), int(max_faces))
    model = spec.compile()
    arm_ids = [model.joint(ROBOT + j).id for j in robot.arm_joints]
    act_by_joint = {
        model.actuator_trnid[a, 0]: a
        for a in range(model.nu)
        if model.actuator_trntype[a] == mujoco.mjtTrn.mjTRN_JOINT
    }
    missing = [
        j for j, jid in zip(robot.arm_joints, arm_ids, strict=True) if jid not in act_by_joint
    ]
    if missing:
        raise ValueError(f"{robot.name}: no position actuator on arm joints {missing}")
    robot_root = model.body(ROBOT + robot.root_body).id
    robot_bodies = {b for b in range(model.nbody) if _descends(model, b, robot_root)}
    index = SceneIndex(
        robot=robot,
        arm_qpos=np.array([model.jnt_qposadr[j] for j in arm_ids]),
        arm_dof=np.array([model.jnt_dofadr[j] for j in arm_ids]),
        arm_range=np.array([model.jnt_range[j] for j in arm_ids]),
        arm_actuators=np.array([act_by_joint[j] for j in arm_ids]),
        gripper_actuators=np.array([model.actuator(ROBOT + a).id for a in robot.gripper.actuators]),
        gripper_qpos=int(model.joint(ROBOT + robot.gripper.joint).qposadr[0]),
        tcp_site=model.site("tcp").id,
        cube_qpos={c: int(model.joint(f"cube_{c}").qposadr[0]) for c in CUBE_COLORS},
        cube_body={c: model.body(f"cube_{c}").id for c in CUBE_COLORS},
        distractor_qpos=[
            int(model.joint(f"distractor_{i}").qposadr[0]) for i in range(distractors)
        ],
        mocap={n: int(model.body(n).mocapid[0]) for n in ("bowl", "plate", "mark")},
        home_qpos=np.zeros(len(arm_ids)),
        cameras=("front", "wrist"),
        robot_geoms=np.array(
            [g for g in range(model.ngeom) if model.geom_bodyid[g] in robot_bodies]
        ),
    )
    index.home_qpos = ik.home_pose(model, index)
    index.finger_reach = _finger_reach(model, index)
    return model, index


def _finger_reach(model: mujoco.MjModel, index: SceneIndex) -> float:
    """Horizontal reach of the closed fingers' collision boxes around the TCP axis."""
    data = mujoco.MjData(model)
    data.qpos[index.arm_qpos] = index.home_qpos
    data.ctrl[index.arm_actuators] = index.home_qpos
    data.ctrl[index.gripper_actuators] = index.robot.gripper.ctrl_closed
    for _ in range(400):  # let the linkage close for real (its joints are tied by constraints)
        mujoco.mj_step(model, data)
    tcp = data.site_xpos[index.tcp_site]
    reach = 0.0
    for name in index.robot.finger_geoms:
        gid = model.geom(ROBOT + name).id
        half = (
            model.geom_size[gid]
            if model.geom_type[gid] == mujoco.mjtGeom.mjGEOM_BOX
            else model.geom_rbound[gid] * np.ones(3)
        )
        rot = data.geom_xmat[gid].reshape(3, 3)
        for corner in np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).T.reshape(-1, 3):
            p = data.geom_xpos[gid] + rot @ (corner * half)
            reach = max(reach, float(np.hypot(*(p - tcp)[:2])))
    return reach


def _descends(model: mujoco.MjModel, body: int, root: int) -> bool:
    while body > 0:
        if body == root:
            return True
        body = model.body_parentid[body]
    return False


def build(robot_name: str, distractors: int = 0) -> tuple[mujoco.MjModel, SceneIndex]:
    """A fresh copy of the compiled scene with `robot_name` in it (and `distractors` extra
    cubes), and its index."""
    model, index = _build_cached(robot_name, distractors)
    return copy.deepcopy(model), index
