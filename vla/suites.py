"""The suites of environments that collection and evaluation can run: our tabletop and
Meta-World, behind one registry. A suite names its robots and tasks (with named groups of tasks,
such as Meta-World's `mt10`), checks a choice of them with a message that lists the valid ones,
and makes one env for a (robot, task). Every env it makes follows the contract that
`vla.rollout.run_episode` reads (reset's info["episode"], step's info["is_success"] and
"elapsed_steps"), has a scripted `expert()`, and `hold(seconds)` for latency in the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vla.suggest import unknown


@dataclass(frozen=True)
class Suite:
    name: str
    robots: tuple[str, ...]
    tasks: tuple[str, ...]
    make_env: Callable[..., object]  # (robot, task, image_size, image_obs, control) -> env
    controls: tuple[str, ...]  # the action spaces its envs offer; the first is the default
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> tasks
    # the control that moves the end effector (its pose, or its change): what `control=
    # task_space` means here, so that one recipe asks the same of every suite
    task_space: str | None = None

    def control(self, name: str | None) -> str:
        """The env control a collection asks for: None is the default (the first),
        `task_space` this suite's end-effector control; any other name must be one of ours."""
        if name is None:
            return self.controls[0]
        if name == "task_space":
            if self.task_space is None:
                raise ValueError(
                    f"suite {self.name} has no task-space control; use one of {list(self.controls)}"
                )
            return self.task_space
        if name not in self.controls:
            raise ValueError(
                unknown(f"control of suite {self.name}", name, [*self.controls, "task_space"])
            )
        return name

    def expand(self, tasks: list[str]) -> list[str]:
        """Task names with group names replaced by their tasks (in order, without repeats)."""
        out: list[str] = []
        for t in tasks:
            for name in self.groups.get(t, (t,)):
                if name not in out:
                    out.append(name)
        return out

    def check(self, robots: list[str], tasks: list[str]) -> None:
        """ValueError naming the valid choices for any unknown robot or task."""
        for r in robots:
            if r not in self.robots:
                raise ValueError(unknown("robot", r, self.robots))
        for t in tasks:
            if t not in self.tasks and t not in self.groups:
                raise ValueError(unknown("task", t, [*self.groups, *self.tasks]))

    def cells(self, robots, tasks) -> tuple[list[str], list[str]]:
        """A command's robots and tasks, checked, as lists: None robots means every robot of
        the suite, a single name a one-element list (tasks=mt10 as well as tasks=[mt10]), and
        task groups are expanded."""
        robots = [robots] if isinstance(robots, str) else list(robots or self.robots)
        tasks = [tasks] if isinstance(tasks, str) else list(tasks)
        self.check(robots, tasks)
        return robots, self.expand(tasks)

    def make(self, robot: str, task: str, image_size: int = 128, image_obs: bool = True, **kw):
        return self.make_env(robot, task, image_size=image_size, image_obs=image_obs, **kw)


def _tabletop() -> Suite:
    from vla.envs.robots.registry import ROBOTS
    from vla.envs.tasks.registry import TASKS

    def make(robot, task, image_size, image_obs, control="joint", distractors=0):
        from vla.envs.tabletop_env import TabletopEnv

        return TabletopEnv(
            robot=robot, task=task, image_size=image_size, image_obs=image_obs, control=control,
            distractors=distractors,
        )  # fmt: skip

    from vla.envs.tabletop_env import CONTROLS

    return Suite(
        "tabletop", tuple(ROBOTS), tuple(TASKS), make, tuple(CONTROLS), task_space="ee_pose"
    )


def _metaworld() -> Suite:
    from vla.envs import metaworld_language as language
    from vla.envs.metaworld_env import CONTROL, ROBOT

    def make(robot, task, image_size, image_obs, control=CONTROL):
        from vla.envs.metaworld_env import MetaWorldEnv

        return MetaWorldEnv(
            task=task, robot=robot, image_size=image_size, image_obs=image_obs, control=control
        )

    groups = {"mt10": language.MT10, "mt50": language.TASKS, **language.DIFFICULTY}
    return Suite(
        "metaworld", (ROBOT,), language.TASKS, make, (CONTROL,), groups, task_space=CONTROL
    )


FACTORIES: dict[str, Callable[[], Suite]] = {"tabletop": _tabletop, "metaworld": _metaworld}


def get(name: str) -> Suite:
    if name not in FACTORIES:
        raise ValueError(unknown("suite", name, list(FACTORIES)))
    return FACTORIES[name]()


def checked_cells(
    suite: str, robots, tasks, episodes: int, workers: int
) -> tuple[Suite, list[str], list[str]]:
    """The suite and the robot x task cells of a run over many episodes (`vla collect`,
    `vla eval`), checked: an unknown suite, robot or task answers with the valid choices
    (`Suite.cells` says how robots and tasks are read), and episodes and workers must be at
    least 1. Returns the suite and the robots and tasks as lists."""
    found = get(suite)
    robots, tasks = found.cells(robots, tasks)
    if episodes < 1 or workers < 1:
        raise ValueError("episodes and workers must be at least 1")
    return found, robots, tasks
