"""What changes between two days in a lab, as seeded changes to a MuJoCo scene.

A perturbation is a kind and a magnitude, written "camera_move:5" (the kind alone takes its
default magnitude):

- camera_move: cm   every world-fixed camera moved this far, in a random direction
- camera_turn: deg  every world-fixed camera turned this much, about a random axis
- light: fraction   every light's brightness scaled by a factor in [1 - m, 1 + m] and its
                    position moved up to m x 50 cm
- color: fraction   the table, floor and fixtures (never the named objects) shifted in colour
                    by up to m per channel
- start_pose: x     the arm starts m times further from home (tabletop: m x its joint noise;
                    Meta-World: its hand start moved up to 2m cm)
- distractor: n     n extra cubes, in colours no instruction names (tabletop)

`draw(perturbations, seed, salt)` turns them into concrete values from their own generator, so
the scene the seed draws stays the same; evaluation and collection use different salts (and
seeds), so what a policy is tested on was never what it trained on. The values are recorded in
the episode's facts. `SceneChanger` applies values to a model and restores it before the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULTS = {
    "camera_move": 5.0,
    "camera_turn": 5.0,
    "light": 0.6,
    "color": 0.3,
    "start_pose": 2.0,
    "distractor": 2.0,
}
UNITS = {
    "camera_move": "cm",
    "camera_turn": "deg",
    "light": "x",
    "color": "rgb",
    "start_pose": "x",
    "distractor": "cubes",
}
EVAL_SALT, COLLECT_SALT = 7919, 104729  # different draws for evaluation and training data
LIGHT_MOVE_M = 0.5  # light: m x this many metres, at most
MAX_DISTRACTORS = 3


@dataclass(frozen=True)
class Perturbation:
    kind: str
    magnitude: float

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.magnitude:g}"


def parse(text: str) -> Perturbation:
    """ "camera_move:5" or "camera_move" (its default) -> Perturbation, or a clear error."""
    from vla.suggest import unknown

    kind, _, value = str(text).partition(":")
    if kind not in DEFAULTS:
        raise ValueError(unknown("perturbation", kind, DEFAULTS))
    try:
        magnitude = float(value) if value else DEFAULTS[kind]
    except ValueError:
        raise ValueError(f"perturbation {text!r}: the magnitude after ':' is a number") from None
    if magnitude < 0 or (kind == "start_pose" and magnitude < 1):
        raise ValueError(
            f"perturbation {text!r}: the magnitude must be >= 0 (start_pose: >= 1, a factor)"
        )
    if kind == "distractor" and magnitude not in range(MAX_DISTRACTORS + 1):
        raise ValueError(f"distractor:{value}: a whole number of cubes, 0 to {MAX_DISTRACTORS}")
    return Perturbation(kind, magnitude)


def parse_all(texts) -> list[Perturbation]:
    found = [parse(t) for t in texts or []]
    kinds = [p.kind for p in found]
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"each kind of perturbation once per draw, got {list(texts)}")
    return found


def unit_vector(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def randomized(seed: int, share: float) -> bool:
    """Whether collection draws changes for this episode's seed, `share` of seeds in all (with
    its own generator: which episodes change says nothing about how they change)."""
    return share >= 1 or bool(np.random.default_rng([int(seed), COLLECT_SALT, 1]).random() < share)


def draw(perturbations: list[Perturbation], seed: int, salt: int) -> dict:
    """{kind: concrete values} for one episode, JSON-able, from (seed, salt) alone."""
    rng = np.random.default_rng([int(seed), int(salt)])
    out = {}
    for p in perturbations:
        m = p.magnitude
        if p.kind == "camera_move":
            out[p.kind] = (unit_vector(rng) * m / 100).tolist()
        elif p.kind == "camera_turn":
            out[p.kind] = {"axis": unit_vector(rng).tolist(), "deg": float(m * rng.choice([-1, 1]))}
        elif p.kind == "light":
            out[p.kind] = {
                "scale": float(rng.uniform(1 - m, 1 + m)),
                "move": (unit_vector(rng) * m * LIGHT_MOVE_M * rng.uniform()).tolist(),
            }
        elif p.kind == "color":
            out[p.kind] = {"seed": int(rng.integers(2**31)), "amount": m}
        elif p.kind == "start_pose":
            out[p.kind] = {"factor": m, "direction": unit_vector(rng).tolist()}
        elif p.kind == "distractor":
            out[p.kind] = {"count": int(m), "seed": int(rng.integers(2**31))}
    return out


def quat_mul(a, b) -> np.ndarray:
    w1, x1, y1, z1 = a
    w2, x2, y2, z2 = b
    return np.array([
        w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
    ])  # fmt: skip


class SceneChanger:
    """Applies drawn values to a model's fixed cameras, lights and colours; `restore` first, so
    each episode starts from the model as built."""

    def __init__(self, model, cameras: list[int], materials: list[int], geoms: list[int]):
        self.model = model
        self.cameras, self.materials, self.geoms = list(cameras), list(materials), list(geoms)
        self.saved = {
            name: getattr(model, name).copy()
            for name in (
                "cam_pos",
                "cam_quat",
                "light_diffuse",
                "light_pos",
                "mat_rgba",
                "geom_rgba",
            )
        }

    def restore(self) -> None:
        for name, value in self.saved.items():
            getattr(self.model, name)[:] = value

    def apply(self, values: dict) -> None:
        self.restore()
        m = self.model
        if "camera_move" in values:
            for c in self.cameras:
                m.cam_pos[c] += values["camera_move"]
        if "camera_turn" in values:
            turn = values["camera_turn"]
            half = np.radians(turn["deg"]) / 2
            q = np.r_[np.cos(half), np.sin(half) * np.asarray(turn["axis"])]
            for c in self.cameras:  # turned in the world frame, about its own position
                m.cam_quat[c] = quat_mul(q, m.cam_quat[c])
        if "light" in values:
            m.light_diffuse[:] = np.clip(m.light_diffuse * values["light"]["scale"], 0, 1)
            m.light_pos[:] += values["light"]["move"]
        if "color" in values:
            rng = np.random.default_rng(values["color"]["seed"])
            amount = values["color"]["amount"]
            for i in self.materials:
                m.mat_rgba[i, :3] = np.clip(
                    m.mat_rgba[i, :3] + rng.uniform(-amount, amount, 3), 0, 1
                )
            for g in self.geoms:
                m.geom_rgba[g, :3] = np.clip(
                    m.geom_rgba[g, :3] + rng.uniform(-amount, amount, 3), 0, 1
                )
