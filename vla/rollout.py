"""One episode, one readable loop: env -> policy -> env.step, recording what a dataset needs.

Collection (scripted experts) and evaluation (trained policies) both run this function; Ray
actors wrap it rather than re-implementing it. It reads only what `reset` and `step` return:
the observation dict and `info` (`reset`'s info["episode"] says who acts, on what, in which
scene; every info has "is_success" and "elapsed_steps", "target_now" where the suite
labels where the named object is in pixels, "world_now" where it gives the object's and goal's
world positions), so any suite whose envs say those things runs through it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def run_episode(
    env,
    act: Callable[[dict], np.ndarray],
    seed: int,
    options: dict | None = None,
    record: bool = False,
    encode_image: Callable[[np.ndarray], bytes] | None = None,
    perturb: Callable[[np.ndarray], np.ndarray] | None = None,
    after_success: int = 0,
) -> dict:
    """Reset with `seed`, act until the episode ends. Returns its record; with `record`, also
    "frames": {"images": {camera: [encoded]}, "state": (T, S), "action": (T, A)}.

    `perturb` changes the action that reaches the env but not the one recorded: noise
    injection (DART, Laskey et al. 2017), so demonstrations show how the expert corrects
    the small deviations a learned policy will make.

    `after_success`: steps to go on acting (and recording) once the task first succeeds, within
    the step limit, so that demonstrations do not stop at the success threshold (a lift that
    ends the moment the cube is 4 cm up shows a policy almost nothing of carrying on upwards).
    "success_step" says when it first succeeded, "asked" what the instruction asks ({"task",
    and where the suite names them "target" and "goal"}); with `record`, "target_track" says
    where the named cube was in each recorded frame (the localizer's labels), and "world_track"
    {"object": [[x, y, z], ...], "goal": [...]} where the object and its goal were (the world
    part's)."""
    obs, info = env.reset(seed=seed, options=options)
    facts = info["episode"]  # who, what and the scene: everything recorded but the frames
    initial = {
        "state": np.asarray(obs["state"]).tolist(),
        "layout": facts.get("layout"),
        "target": facts.get("target"),  # which object of the layout the instruction names
        "goal": facts.get("goal"),  # the fixture it should end on, if any
    }
    if facts.get("pixels") is not None:  # where everything appears in the fixed cameras
        initial["pixels"] = facts["pixels"]
    images = {cam: [] for cam in obs.get("images", {})} if record else {}
    states, actions = [], []
    # the named object's position in every recorded frame (place and push move it)
    track = [] if record and info.get("target_now") is not None else None
    # every suite's per-frame world positions of the object and goal (auxiliary labels)
    world = [] if record and info.get("world_now") is not None else None
    done, success_step = False, None
    while not done:
        action = np.asarray(act(obs), dtype=np.float32)
        if record:
            for cam, image in obs.get("images", {}).items():
                images[cam].append(encode_image(image) if encode_image else image)
            states.append(obs["state"])
            actions.append(action)
            if track is not None:
                track.append(info["target_now"])
            if world is not None:
                world.append(info["world_now"])
        executed = action if perturb is None else perturb(action)
        obs, _, terminated, truncated, info = env.step(executed)
        if success_step is None and info["is_success"]:
            success_step = int(info["elapsed_steps"])
        if success_step is not None and info["elapsed_steps"] - success_step < after_success:
            # the env says terminated on success; keep going while the limit allows
            terminated = False
            truncated = info["elapsed_steps"] >= facts["max_steps"]
        done = terminated or truncated
    result = {
        "robot": facts["robot"],
        "task": facts["task"],
        "seed": int(seed),
        "instruction": obs["instruction"],
        "instruction_set": facts["instruction_set"],
        "success": bool(info["is_success"] or success_step is not None),
        "success_step": success_step,
        "length": int(info["elapsed_steps"]),
        "fps": float(facts["fps"]),
        "embodiment": facts["embodiment"],
        "cameras": list(facts["cameras"]),
        "image_size": list(facts["image_size"]),
        "initial_state": initial,
    }
    # what the instruction asks, as the suite set the scene up: the task and, where the suite
    # has them, the named object and fixture (the sentence part groups phrasings by it)
    result["asked"] = {"task": facts["task"]} | {
        k: facts[k] for k in ("target", "goal") if facts.get(k) is not None
    }
    if facts.get("group"):  # e.g. Meta-World's difficulty: results are reported per group too
        result["group"] = facts["group"]
    if facts.get("perturbation"):  # what was changed in the scene (envs/perturbations.py)
        result["perturbation"] = facts["perturbation"]
    if track is not None:
        result["target_track"] = target_track(track)
    if world is not None:
        result["world_track"] = {k: [w[k] for w in world] for k in world[0]} if world else {}
    if record:
        result["frames"] = {
            "images": images,
            "state": np.array(states),
            "action": np.array(actions),
        }
    return result


def target_track(points: list[dict]) -> dict:
    """Per-frame `named_cube_now()` answers as the record's "target_track": {"xy": [[x, y],
    ...], "pixels": {camera: [[u, v], ...]}}, one entry per frame."""
    cameras = points[0]["pixels"] if points else {}
    return {
        "xy": [p["xy"] for p in points],
        "pixels": {cam: [p["pixels"][cam] for p in points] for cam in cameras},
    }
