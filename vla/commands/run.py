"""`vla run`: one episode from an instruction, with a video and the success printed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vla.envs.language import parse_instruction
from vla.video import write_video

TABLETOP_ROBOT = "panda"  # robot=null on the tabletop


@dataclass
class RunConfig:
    """`vla run`'s settings (vla/commands/config_store.py stores them for Hydra; policy_path is written
    `policy.path=` on the command line, as in `vla eval`)."""

    suite: str = "tabletop"  # vla.suites: tabletop | metaworld
    robot: str | None = None  # None: panda on the tabletop, the suite's robot elsewhere
    # the scene, set apart from the sentence so that any sentence can be tried on it; None: the
    # tabletop reads it from the instruction (a keyword convenience); other suites need task=
    task: str | None = None
    target: str | None = None  # tabletop: the colour of the cube the scene is about
    receptacle: str | None = None  # tabletop place: bowl | plate
    instruction: str = "put the red cube in the bowl"
    policy_path: str = "expert"  # a checkpoint directory, or `expert`
    server: str | None = None  # or act through a running `vla serve` (ws://HOST:PORT)
    api_key: str | None = None  # the server's token, when it asks for one
    seed: int = 0
    image_size: int | None = None  # None: the checkpoint's (128 for the expert)
    output: str = "outputs/run"


def episode_setup(cfg) -> tuple[str, str, dict, str]:
    """(robot, task, reset options, a description): the scene from task=, target= and
    receptacle= where given, else what the tabletop's keyword reader finds in the sentence;
    the sentence itself goes to the policy unchanged either way."""
    from vla import suites

    suite = suites.get(cfg.suite)
    if cfg.suite != "tabletop":
        if cfg.target or cfg.receptacle:
            raise ValueError(
                f"target= and receptacle= are tabletop scene options, not {cfg.suite}'s"
            )
        if not cfg.task:
            raise ValueError(f"name the {cfg.suite} task the instruction asks for: task=...")
        robot = cfg.robot or suite.robots[0]
        suite.check([robot], [cfg.task])
        return robot, cfg.task, {"instruction": cfg.instruction}, cfg.suite
    robot = cfg.robot or TABLETOP_ROBOT
    scene = {"task": cfg.task, "target": cfg.target, "receptacle": cfg.receptacle}
    if not (cfg.task and cfg.target):
        try:
            parsed = parse_instruction(cfg.instruction)
        except ValueError as err:
            raise ValueError(
                f"{err}; or set the scene yourself and keep the sentence as it is: "
                "task=reach|lift|place|push target=red|green|blue (receptacle=bowl|plate)"
            ) from None
        scene = {k: v or parsed[k] for k, v in scene.items()}
    if scene["receptacle"] and scene["task"] != "place":
        raise ValueError(f"receptacle= is for task=place, not task={scene['task']}")
    suite.check([robot], [scene["task"]])
    options = {"instruction": cfg.instruction, "target": scene["target"]}
    if scene["task"] == "place":
        options["receptacle"] = scene["receptacle"] or "bowl"
    what = f"{scene['target']} cube" + (
        f", {options['receptacle']}" if "receptacle" in options else ""
    )
    return robot, scene["task"], options, what


def run(cfg) -> int:
    from vla import rollout, suites
    from vla.commands.config_store import build

    cfg = build(RunConfig, cfg)
    robot, task, options, what = episode_setup(cfg)
    policy, client = None, None
    if cfg.server:
        from vla.serving.client import PolicyClient

        client = PolicyClient(cfg.server, cfg.api_key)
        schemas = client.metadata["robots"]
        if robot not in schemas:
            raise ValueError(f"the server at {cfg.server} serves {list(schemas)}, not {robot}")
    elif str(cfg.policy_path) != "expert":
        from vla.policies.vla_policy import VLAPolicy

        policy = VLAPolicy.from_pretrained(cfg.policy_path)
        schemas = {r: s.to_dict() for r, s in policy.schemas.items()}
    trained_size = client.metadata["image_size"] if client else None
    size = cfg.image_size or trained_size or (policy.config.image_size if policy else 128)
    suite = suites.get(cfg.suite)
    control = suite.control(None)
    if (policy or client) and robot in schemas:  # drive the arm as it was trained to
        from vla.embodiment import control_of

        control = control_of(schemas[robot])
    env = suite.make(robot, task, image_size=size, control=control)
    if client is not None:
        from vla.serving.chunking import ChunkExecutor

        meta = client.metadata
        act = ChunkExecutor(
            lambda obs: client.infer({**obs, "robot": robot})["actions"],
            meta["n_action_steps"],
            meta["chunk_length"],
            ensemble=meta.get("temporal_ensemble"),
            state_history=meta.get("state_history", 0),
        )
    elif policy is None:
        act = env.expert()
    else:
        policy.check_embodiment(env.embodiment)
        policy.reset()

        def act(obs):
            return policy.select_action(obs, robot)

    result = rollout.run_episode(env, act, cfg.seed, options, record=True)
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    path = write_video(
        result["frames"]["images"],
        result["fps"],
        out / f"{robot}_{task}_seed{cfg.seed}.mp4",
    )
    env.close()
    if client is not None:
        client.close()
    print(
        f"{robot} | {task} ({what}) | "
        f'"{cfg.instruction}" | success={result["success"]} after {result["length"]} steps'
    )
    print(f"video: {path}")
    return 0 if result["success"] else 1
