"""Random object placement per seed: every cube and what the task needs inside the robot's reach,
the other receptacles anywhere on the visible table, nothing overlapping.

All cubes come from the same area in a random order, so the scene never tells which cube is the
target: only the instruction does. (A layout that put the target within reach and the other cubes
on the wider table let a policy that ignores the sentence pick the right cube by position; the
shuffled-instruction control measured exactly that.)"""

from __future__ import annotations

import numpy as np

from vla.envs.scene import BOWL_RADIUS, CUBE_COLORS, MARK_RADIUS, PLATE_RADIUS
from vla.envs.tasks.base import Episode, Task

GRIPPER_CLEARANCE = 0.035  # room for open fingers beside a cube
BASE_CLEARANCE = 0.1  # keep objects this far from the robot base's axis
MAX_TRIES = 2000
GROW_EVERY, GROW_STEP = 25, 0.05


def footprint(name: str, cube_half: float) -> float:
    if name.startswith("cube_"):
        return cube_half * 1.42 + GRIPPER_CLEARANCE
    return {"bowl": BOWL_RADIUS + 0.012, "plate": PLATE_RADIUS + 0.01, "mark": MARK_RADIUS}[name]


def min_distance(a: str, b: str, cube_half: float) -> float:
    """Centre distance two objects keep. Between two cubes, one finger's clearance is enough
    (the fingers close on whichever is the target): any cube may be it, so the rule is the
    same for every pair and cannot mark the target out."""
    if a.startswith("cube_") and b.startswith("cube_"):
        return footprint(a, cube_half) + footprint(b, cube_half) - GRIPPER_CLEARANCE
    return footprint(a, cube_half) + footprint(b, cube_half)


def relevant_objects(task: Task, episode: Episode) -> list[str]:
    names = []
    for role in task.relevant:
        if role == "target":
            names.append(f"cube_{episode.target}")
        elif role == "receptacle":
            names.append(episode.receptacle)
        else:
            names.append(role)
    return names


def sample(
    rng: np.random.Generator, task: Task, episode: Episode, robot
) -> dict[str, tuple[float, float, float]]:
    """name -> (x, y, yaw) for every cube, the bowl, the plate and the mark."""
    hx, hy = robot.workspace_half
    outer = np.array([[-hx - 0.07, hx + 0.13], [-hy - 0.12, hy + 0.12]])
    needed = relevant_objects(task, episode)
    cubes = [f"cube_{c}" for c in CUBE_COLORS]
    within = [n for n in needed if n not in cubes]  # receptacle, mark: big, so placed first
    rest = [n for n in ("bowl", "plate", "mark") if n not in within]
    for attempt in range(MAX_TRIES):
        # A small workspace may not hold three cubes and a receptacle apart: widen it a little
        # every GROW_EVERY failed tries (cubes still all share one area).
        grow = 1.0 + GROW_STEP * (attempt // GROW_EVERY)
        inner = np.array([[-hx, hx], [-hy, hy]]) * grow
        placed: dict[str, tuple[float, float, float]] = {}
        ok = True
        order = within + [cubes[i] for i in rng.permutation(len(cubes))] + rest
        for name in order:
            box = outer if name in rest else inner
            if not _place(rng, name, box, placed, robot):
                ok = False
                break
        if ok and _task_constraints(task, episode, placed, robot):
            return placed
    raise RuntimeError(f"no layout found for {task.name} on {robot.name} after {MAX_TRIES} tries")


def _place(rng, name, box, placed, robot) -> bool:
    cube_half = robot.cube_half
    r = footprint(name, cube_half)
    bx, by, _ = robot.base_pos
    for _ in range(100):
        x, y = rng.uniform(box[0, 0], box[0, 1]), rng.uniform(box[1, 0], box[1, 1])
        if np.hypot(x - bx, y - by) < r + BASE_CLEARANCE:
            continue
        if all(
            np.hypot(x - px, y - py) > min_distance(name, other, cube_half)
            for other, (px, py, _) in placed.items()
        ):
            yaw = rng.uniform(-np.pi / 4, np.pi / 4) if name.startswith("cube_") else 0.0
            placed[name] = (float(x), float(y), float(yaw))
            return True
    return False


def _task_constraints(task: Task, episode: Episode, placed, robot) -> bool:
    cube_half = robot.cube_half
    if task.name != "push":
        return True
    cube = np.array(placed[f"cube_{episode.target}"][:2])
    mark = np.array(placed["mark"][:2])
    length = np.linalg.norm(mark - cube)
    if not 0.07 <= length <= 0.16:
        return False
    # Keep the pushing corridor clear: from behind the cube (where the fingers come down) to
    # past the mark, nothing else may stand.
    d = (mark - cube) / length
    start, end = cube - d * 0.07, mark + d * 0.03
    hx, hy = robot.workspace_half
    behind = cube - d * 0.05  # where the fingers come down: it must be within reach too
    if abs(behind[0]) > hx + 0.015 or abs(behind[1]) > hy + 0.015:
        return False
    for name, (x, y, _) in placed.items():
        if name in (f"cube_{episode.target}", "mark"):
            continue
        if _segment_distance(np.array([x, y]), start, end) < footprint(name, cube_half) + cube_half:
            return False
    return True


def _segment_distance(p, a, b) -> float:
    t = np.clip(np.dot(p - a, b - a) / np.dot(b - a, b - a), 0.0, 1.0)
    return float(np.linalg.norm(p - (a + t * (b - a))))


def place_distractors(
    rng: np.random.Generator, count: int, task: Task, episode: Episode, placed: dict, robot
) -> dict[str, tuple[float, float, float]]:
    """Where `count` extra cubes go: among the others (they share the cubes' area, widened as a
    layout is when crowded), apart from everything, and out of a push's corridor."""
    hx, hy = robot.workspace_half
    for attempt in range(MAX_TRIES):
        grow = 1.0 + GROW_STEP * (1 + attempt // GROW_EVERY)
        box = np.array([[-hx, hx], [-hy, hy]]) * grow
        extra = dict(placed)
        if all(_place(rng, f"cube_distractor_{i}", box, extra, robot) for i in range(count)):
            if _task_constraints(task, episode, extra, robot):
                return {k: v for k, v in extra.items() if k not in placed}
    raise RuntimeError(f"no room for {count} distractor cubes on {robot.name}'s table")
