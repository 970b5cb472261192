"""The gymnasium env: one robot, one task, one instruction, on the shared tabletop.

Observation: {"images": {camera: uint8 (H, W, 3)}, "state": float32 (joints + gripper),
"instruction": str}. Action: absolute joint-position targets (rad) then the gripper command in
[0, 1] (1 = closed), see `env.unwrapped.embodiment`. With `control="ee_delta"` the arm is
driven in task space instead, the same way for every robot: the action moves a commanded
top-down TCP pose by (dx, dy, dz) metres and dyaw radians, the env's differential IK turns it
into joint targets, and the state is the measured TCP pose (x, y, z, yaw) and the gripper.
`control="ee_pose"` is the same with absolute world-frame targets (x, y, z, yaw): the commanded
pose moves towards the target by at most one `ee_delta` step per control step.
Terminates on success; truncates at the task's step limit. `info["is_success"]` every step.
"""

from __future__ import annotations

from vla.envs import headless  # noqa: F401  (sets MUJOCO_GL before mujoco loads)

# isort: split

import mujoco
import numpy as np
from gymnasium import Env, spaces

from vla.embodiment import TASK_SPACE, Embodiment
from vla.envs import language, perturbations, scene, views
from vla.envs.ik import DifferentialIK, top_down
from vla.envs.robots import registry as robots
from vla.envs.tasks import layout
from vla.envs.tasks import registry as tasks

SETTLE_SECONDS = 0.3  # physics before the first observation, so objects rest on the table
HOME_NOISE = 0.03  # rad, per joint, at reset
STATE_MARGIN = 0.2  # rad beyond the joint limits that the state space admits


CONTROLS = ("joint", *TASK_SPACE)  # task-space controls: the state is the TCP pose
EE_NAMES = ("tcp_x", "tcp_y", "tcp_z", "tcp_yaw")
EE_UNITS = ("m", "m", "m", "rad")
EE_STEP_M = 0.05  # largest TCP move per control step (the fastest robot moves ~0.035)
EE_STEP_YAW = 0.2  # rad per control step
EE_REACH_M = 1.2  # the commanded TCP stays within this distance of the robot base
EE_POSE_BOX_M = EE_REACH_M + 0.5  # ee_pose targets and the TCP state lie within +-this (world)
EE_POSE_YAW = 2 * np.pi  # ee_pose yaw targets: the commanded yaw accumulates, so past +-pi


def embodiment_of(
    model: mujoco.MjModel, index: scene.SceneIndex, control: str = "joint"
) -> Embodiment:
    robot = index.robot
    if control in TASK_SPACE:
        # ee_delta: one step's move; ee_pose: a world-frame target anywhere in the box
        step, box = (EE_STEP_M, EE_STEP_YAW), (EE_POSE_BOX_M, EE_POSE_YAW)
        lin, yaw = step if control == "ee_delta" else box
        return Embodiment(
            name=robot.name,
            joint_names=EE_NAMES,
            gripper_name="gripper",
            action_mode=control,
            joint_units=EE_UNITS,
            action_low=(-lin, -lin, -lin, -yaw, 0.0),
            action_high=(lin, lin, lin, yaw, 1.0),
            gripper_sign=1,
            control_hz=robot.control_hz,
            cameras=index.cameras,
            description=robot.description,
        )
    return Embodiment(
        name=robot.name,
        joint_names=robot.arm_joints,
        gripper_name="gripper",
        action_mode="joint_position",
        joint_units=("rad",) * len(robot.arm_joints),
        action_low=(*map(float, index.arm_range[:, 0]), 0.0),
        action_high=(*map(float, index.arm_range[:, 1]), 1.0),
        gripper_sign=1,
        control_hz=robot.control_hz,
        cameras=index.cameras,
        description=robot.description,
    )


class TabletopEnv(Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        robot: str = "panda",
        task: str = "lift",
        image_size: int | tuple[int, int] = 128,
        cameras: tuple[str, ...] | None = None,
        image_obs: bool = True,
        instruction_set: str = "train",
        max_steps: int | None = None,
        render_mode: str | None = None,
        render_size: tuple[int, int] = (240, 320),
        control: str = "joint",
        distractors: int = 0,
    ):
        if control not in CONTROLS:
            raise ValueError(f"control must be one of {CONTROLS}, got {control!r}")
        self.control = control
        self.robot = robots.get(robot)
        self.task = tasks.get(task)
        language.templates(task, instruction_set)  # validates the set name
        self.model, self.index = scene.build(robot, distractors)
        self.changer = perturbations.SceneChanger(
            self.model,
            [self.model.camera(c).id for c in self.fixed_cameras_of(self.model)],
            [self.model.material(n).id for n in ("table", "floor")],
            [g for b in ("bowl", "plate", "mark") for g in self.body_geoms(self.model, b)],
        )
        self.perturbation: dict = {}
        self.data = mujoco.MjData(self.model)
        self.embodiment = embodiment_of(self.model, self.index, control)
        self.cameras = tuple(cameras) if cameras is not None else self.index.cameras
        unknown = set(self.cameras) - set(self.index.cameras)
        if unknown:
            raise ValueError(
                f"unknown camera(s) {sorted(unknown)}; {robot} has {list(self.index.cameras)}"
            )
        self.image_hw = views.image_hw(image_size)
        self.image_obs = image_obs
        self.instruction_set = instruction_set
        self.max_steps = max_steps or self.task.max_steps
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None")
        self.render_mode = render_mode
        self.render_size = render_size
        self.substeps = max(1, round(1.0 / (self.robot.control_hz * self.model.opt.timestep)))

        e = self.embodiment
        self.action_space = spaces.Box(
            np.array(e.action_low, np.float32), np.array(e.action_high, np.float32)
        )
        if control in TASK_SPACE:
            lim = EE_POSE_BOX_M  # the measured TCP may trail the command under contact
            state_space = spaces.Box(
                np.array([-lim, -lim, -lim, -np.pi, 0.0], np.float32),
                np.array([lim, lim, lim, np.pi, 1.0], np.float32),
            )
        else:  # joints may overshoot their limits slightly under contact: leave a margin
            state_space = spaces.Box(
                np.array([*(lo - STATE_MARGIN for lo in e.action_low[:-1]), 0.0], np.float32),
                np.array([*(hi + STATE_MARGIN for hi in e.action_high[:-1]), 1.0], np.float32),
            )
        self.observation_space = views.observation_space(
            state_space, self.cameras, self.image_hw, image_obs
        )

        self._cameras = views.Cameras(self.model, self.data)
        self.episode = None
        self.instruction = ""
        self.instruction_set_used = instruction_set
        self.episode_id = 0
        self.elapsed_steps = 0
        g = self.robot.gripper
        self._ctrl_open = np.array(g.ctrl_open)
        self._ctrl_closed = np.array(g.ctrl_closed)
        self._ik = None  # built on first use (task-space control only)

    # ----- gymnasium API -------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        rng = self.np_random
        # drawn by the caller from its own seed (envs/perturbations.py): the scene stays the
        # seed's, then the model's cameras, lights and colours change, the arm starts further out
        self.perturbation = options.pop("perturb", None) or {}
        self.changer.apply(self.perturbation)
        noise = HOME_NOISE * self.perturbation.get("start_pose", {}).get("factor", 1.0)
        mujoco.mj_resetData(self.model, self.data)
        lo, hi = self.index.arm_range[:, 0], self.index.arm_range[:, 1]
        q = np.clip(self.index.home_qpos + rng.normal(0, noise, len(lo)), lo, hi)
        self.data.qpos[self.index.arm_qpos] = q
        self._apply_controls(q, 0.0)
        self.episode = self.task.sample(rng)
        self._override_episode(options)
        self.episode.placements = layout.sample(rng, self.task, self.episode, self.robot)
        self._place_distractors()
        self._place_objects()
        self.hold(SETTLE_SECONDS)
        instruction_set = options.pop("instruction_set", self.instruction_set)
        self.instruction_set_used = instruction_set
        choices = language.templates(self.task.name, instruction_set)
        template = choices[int(rng.integers(len(choices)))]
        self.instruction = options.pop("instruction", None) or template.format(
            **self.task.slots(self.episode)
        )
        if options:
            raise ValueError(
                f"unknown reset option(s) {sorted(options)}; known: instruction, instruction_set, "
                "target, receptacle, perturb"
            )
        self.episode_id += 1
        self.elapsed_steps = 0
        if self.control in TASK_SPACE:  # the commanded pose starts where the arm rests
            self._cmd_q = self.data.qpos[self.index.arm_qpos].copy()
            self._cmd_p, self._cmd_yaw = self.tcp(), self.tcp_yaw()
        return self._observation(), {**self._info(False), "episode": self._episode_facts()}

    def step(self, action):
        action = self._check_action(action)
        if self.control == "ee_pose":
            arm = self._ee_to_joints(self._bounded_step(action[:-1]))
        elif self.control == "ee_delta":
            arm = self._ee_to_joints(action[:-1])
        else:
            arm = action[:-1]
        self._apply_controls(arm, action[-1])
        for _ in range(self.substeps):
            mujoco.mj_step(self.model, self.data)
        self.elapsed_steps += 1
        success = self.task.success(self)
        truncated = self.elapsed_steps >= self.max_steps and not success
        return self._observation(), float(success), success, truncated, self._info(success)

    def _override_episode(self, options: dict) -> None:
        """reset(options={"target": "red", "receptacle": "bowl"}) fixes what the seed would draw."""
        target = options.pop("target", None)
        receptacle = options.pop("receptacle", None)
        if target is not None:
            if target not in scene.CUBE_COLORS:
                raise ValueError(f"target must be one of {list(scene.CUBE_COLORS)}, got {target!r}")
            self.episode.target = target
        if receptacle is not None:
            if self.episode.receptacle is None or receptacle not in scene.RECEPTACLES:
                raise ValueError(
                    f"receptacle applies to the place task and is one of {list(scene.RECEPTACLES)}"
                )
            self.episode.receptacle = receptacle

    def hold(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass under the current commands (e.g. while a policy
        thinks: latency in the loop)."""
        views.hold(self.model, self.data, seconds)

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return self.render_camera("front", self.render_size)

    def close(self):
        self._cameras.close()

    def expert(self, blend: float = 0.0, regrasp: bool = False):
        """A scripted expert for this env's task: a callable obs -> action (privileged state).
        `blend` (m) rounds the waypoints where nothing happens instead of stopping at them;
        `regrasp` plans again after a missed grasp (envs/experts.py)."""
        from vla.envs.experts import ScriptedExpert

        return ScriptedExpert(self, blend=blend, regrasp=regrasp)

    # ----- views that tasks and experts read -------------------------------------------
    def cube_pos(self, color: str) -> np.ndarray:
        adr = self.index.cube_qpos[color]
        return self.data.qpos[adr : adr + 3].copy()

    def cube_yaw(self, color: str) -> float:
        w, x, y, z = self.data.qpos[
            self.index.cube_qpos[color] + 3 : self.index.cube_qpos[color] + 7
        ]
        return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))

    def fixture_pos(self, name: str) -> np.ndarray:
        return self.data.mocap_pos[self.index.mocap[name]].copy()

    def commanded_pose(self) -> np.ndarray:
        """The commanded TCP pose (x, y, z, yaw) that task-space control moves and IK follows."""
        return np.r_[self._cmd_p, self._cmd_yaw]

    def tcp(self) -> np.ndarray:
        return self.data.site_xpos[self.index.tcp_site].copy()

    def pixel_of(self, camera: str, point) -> list[float]:
        """Where a world point appears in `camera`'s image: (u, v) in [-1, 1] across its
        width and height, u rightwards and v downwards (the rendered image's own axes)."""
        cam = self.model.camera(camera).id
        local = (np.asarray(point, float) - self.data.cam_xpos[cam]) @ self.data.cam_xmat[
            cam
        ].reshape(3, 3)  # camera frame: x right, y up, looking along -z
        focal = 1.0 / np.tan(np.deg2rad(self.model.cam_fovy[cam]) / 2)
        h, w = self.image_hw
        depth = -local[2]
        return [float(focal * local[0] / depth * h / w), float(-focal * local[1] / depth)]

    def object_pixels(self) -> dict[str, dict[str, list[float]]]:
        """The image position (`pixel_of`) of every cube and fixture (bowl, plate, mark) in each
        camera fixed to the world (not the wrist's, which moves): labels for learning to find
        the named cube, and where it should go, from pixels, which only simulation can give."""
        points = {f"cube_{c}": self.cube_pos(c) for c in self.index.cube_qpos}
        points.update({name: self.fixture_pos(name) for name in self.index.mocap})
        return {
            cam: {n: self.pixel_of(cam, p) for n, p in points.items()}
            for cam in self.fixed_cameras()
        }

    def fixed_cameras(self) -> list[str]:
        """The cameras fixed to the world (the wrist camera moves with the arm)."""
        return [c for c in self.cameras if self.model.cam_bodyid[self.model.camera(c).id] == 0]

    def named_cube_now(self) -> dict:
        """Where the cube the instruction names is at this moment: "xy" on the table and
        "pixels" {camera: (u, v)} in the fixed cameras. Place and push move it, so a label
        per frame is the only honest answer to "where is it" in their later frames."""
        position = self.cube_pos(self.episode.target)
        return {
            "xy": [float(position[0]), float(position[1])],
            "pixels": {cam: self.pixel_of(cam, position) for cam in self.fixed_cameras()},
        }

    @property
    def goal(self) -> str | None:
        """The fixture the instruction says the cube should end on (place: the bowl or the
        plate; push: the mark), None where it names none (reach, lift)."""
        names = layout.relevant_objects(self.task, self.episode)
        return next((n for n in names if not n.startswith("cube_")), None)

    def tcp_yaw(self) -> float:
        """The angle in the table plane of the TCP's x axis (the fingers' closing direction)."""
        x_axis = self.data.site_xmat[self.index.tcp_site].reshape(3, 3)[:, 0]
        return float(np.arctan2(x_axis[1], x_axis[0]))

    def touching(self, color: str) -> bool:
        cube_geom = self.model.body_geomadr[self.index.cube_body[color]]
        robot = self.index.robot_geoms
        for c in self.data.contact[: self.data.ncon]:
            pair = (c.geom1, c.geom2)
            if cube_geom in pair and (pair[0] in robot or pair[1] in robot):
                return True
        return False

    def grasping(self, color: str) -> bool:
        return self.touching(color) and np.linalg.norm(self.tcp() - self.cube_pos(color)) < 0.04

    @property
    def grasp_height(self) -> float:
        """TCP height at which the fingers close around a cube resting on the table."""
        return self.robot.cube_half + self.robot.grasp_offset

    def gripper_opening(self) -> float:
        g = self.robot.gripper
        q = self.data.qpos[self.index.gripper_qpos]
        return float(np.clip((q - g.joint_closed) / (g.joint_open - g.joint_closed), 0.0, 1.0))

    def render_camera(self, camera: str, size: tuple[int, int]) -> np.ndarray:
        return self._cameras.render(camera, size)

    # ----- internals -------------------------------------------------------------------
    def _bounded_step(self, target: np.ndarray) -> np.ndarray:
        """ee_pose: the move from the commanded pose towards `target`, at most one ee_delta step."""
        delta = np.asarray(target, dtype=float) - self.commanded_pose()
        return np.clip(delta, [-EE_STEP_M] * 3 + [-EE_STEP_YAW], [EE_STEP_M] * 3 + [EE_STEP_YAW])

    def _ee_to_joints(self, delta: np.ndarray) -> np.ndarray:
        """Move the commanded TCP pose by `delta` (dx, dy, dz, dyaw); IK gives joint targets."""
        if self._ik is None:
            self._ik = DifferentialIK(self.model, self.index)
        base = np.asarray(self.robot.base_pos, dtype=float)
        p = self._cmd_p + delta[:3]
        offset = p - base
        far = np.linalg.norm(offset)
        self._cmd_p = base + offset * (EE_REACH_M / far) if far > EE_REACH_M else p
        self._cmd_yaw = float(self._cmd_yaw + delta[3])
        self._cmd_q, _, _ = self._ik.solve(
            self._cmd_q, self._cmd_p, top_down(self._cmd_yaw), iters=15
        )
        return self._cmd_q

    def _apply_controls(self, arm: np.ndarray, grip: float) -> None:
        self.data.ctrl[self.index.arm_actuators] = arm
        self.data.ctrl[self.index.gripper_actuators] = self._ctrl_open + grip * (
            self._ctrl_closed - self._ctrl_open
        )

    def _place_distractors(self) -> None:
        """The distractor perturbation's extra cubes, from its own drawn seed; the others wait
        beside the table (an env is built with as many as it may be asked for)."""
        wanted = self.perturbation.get("distractor", {}).get("count", 0)
        built = len(self.index.distractor_qpos)
        if wanted > built:
            raise ValueError(
                f"the distractor perturbation asks for {wanted} cubes and this env was built with "
                f"{built}: make it with distractors={wanted}"
            )
        rng = np.random.default_rng(self.perturbation.get("distractor", {}).get("seed", 0))
        spots = layout.place_distractors(
            rng, wanted, self.task, self.episode, self.episode.placements, self.robot
        )
        self.distractor_spots = list(spots.values())
        for i, adr in enumerate(self.index.distractor_qpos):
            x, y, yaw = self.distractor_spots[i] if i < wanted else (0.0, -2.5 - 0.1 * i, 0.0)
            z = self.robot.cube_half + 0.001 + (0.0 if i < wanted else -0.75)
            self.data.qpos[adr : adr + 7] = [x, y, z, np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]

    @staticmethod
    def fixed_cameras_of(model) -> list[str]:
        return [model.camera(c).name for c in range(model.ncam) if model.cam_bodyid[c] == 0]

    @staticmethod
    def body_geoms(model, body: str) -> list[int]:
        b = model.body(body).id
        return [g for g in range(model.ngeom) if model.geom_bodyid[g] == b]

    def _place_objects(self) -> None:
        for name, (x, y, yaw) in self.episode.placements.items():
            if name.startswith("cube_"):
                adr = self.index.cube_qpos[name[len("cube_") :]]
                self.data.qpos[adr : adr + 7] = [
                    x,
                    y,
                    self.robot.cube_half + 0.001,
                    np.cos(yaw / 2),
                    0,
                    0,
                    np.sin(yaw / 2),
                ]
            else:
                self.data.mocap_pos[self.index.mocap[name]] = [x, y, scene.TABLE_TOP]
        mujoco.mj_forward(self.model, self.data)

    def _check_action(self, action) -> np.ndarray:
        a = np.asarray(action, dtype=np.float64)
        e = self.embodiment
        if a.shape != (e.action_dim,):
            raise ValueError(
                f"{e.name} takes actions of shape ({e.action_dim},) = {list(e.action_names)}; got {a.shape}"
            )
        if not np.all(np.isfinite(a)):
            bad = [e.action_names[i] for i in np.flatnonzero(~np.isfinite(a))]
            raise ValueError(f"action has NaN or inf in {bad}; check the policy's outputs")
        lo, hi = self.action_space.low, self.action_space.high
        out = np.flatnonzero((a < lo - 1e-4) | (a > hi + 1e-4))
        if out.size:
            i = int(out[0])
            raise ValueError(
                f"action[{i}] ({e.action_names[i]}) = {a[i]:.4f} is outside [{lo[i]:.4f}, {hi[i]:.4f}]; "
                "clip to env.action_space or check the policy's un-normalisation"
            )
        return np.clip(a, lo, hi)

    def _observation(self) -> dict:
        arm = (
            np.r_[self.tcp(), self.tcp_yaw()]
            if self.control in TASK_SPACE
            else self.data.qpos[self.index.arm_qpos]
        )
        state = np.r_[arm, self.gripper_opening()].astype(np.float32)
        obs = {"state": state, "instruction": self.instruction}
        if self.image_obs:
            obs["images"] = {c: self.render_camera(c, self.image_hw) for c in self.cameras}
        return obs

    def _info(self, success: bool) -> dict:
        return {
            "is_success": bool(success),
            "robot": self.robot.name,
            "task": self.task.name,
            "target": self.episode.target if self.episode else None,
            "elapsed_steps": self.elapsed_steps,
            # where the named cube is now: the localizer's per-frame label (place and push move it)
            "target_now": self.named_cube_now() if self.episode else None,
            "world_now": self.world_now() if self.episode else None,
        }

    def world_now(self) -> dict:
        """The suite-neutral training label (the general recipe's auxiliary target, as
        Meta-World's env gives it): the named cube's and its goal fixture's world x, y, z (m)
        at this moment; the goal is None where the task names none (reach, lift)."""
        goal = self.goal
        return {
            "object": self.cube_pos(self.episode.target).tolist(),
            "goal": self.fixture_pos(goal).tolist() if goal else None,
        }

    def _verb_swap(self) -> str | None:
        """The verb-swap control's instruction: the same cube, another task's first training
        phrasing (language.VERB_SWAP), or None where the task has no such swap (reach)."""
        other = language.VERB_SWAP.get(self.task.name)
        if other is None:
            return None
        slots = {"obj": self.episode.target_name, "color": self.episode.target}
        return language.templates(other, "train")[0].format(**slots)

    def _episode_facts(self) -> dict:
        """What an episode loop records about this episode, given with `reset`'s info (the loop
        reads nothing else of the env): who, what, the scene, and the instruction that names
        another cube in the same scene (the shuffled-instruction control)."""
        target = self.episode.target
        colors = list(scene.CUBE_COLORS)
        wrong = colors[(colors.index(target) + 1) % len(colors)]
        return {
            "robot": self.robot.name,
            "task": self.task.name,
            "instruction": self.instruction,
            "instruction_set": self.instruction_set_used,
            "shuffled_instruction": self.instruction.replace(target, wrong),
            "verb_swap_instruction": self._verb_swap(),
            "perturbation": self.perturbation,  # what changed in the scene (envs/perturbations.py)
            "fps": float(self.robot.control_hz),
            "embodiment": self.embodiment.to_dict(),
            "cameras": list(self.cameras) if self.image_obs else [],
            "image_size": list(self.image_hw),
            "max_steps": self.max_steps,
            "layout": self.episode.placements,
            "target": target,
            "target_xy": self.episode.placements[f"cube_{target}"][:2],
            "goal": self.goal,
            "pixels": self.object_pixels(),
        }
