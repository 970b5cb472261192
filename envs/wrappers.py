"""Evaluation conditions as gymnasium wrappers, so that they work on any suite whose envs give
the facts `vla.rollout.run_episode` reads (reset's info["episode"]).

- `PhrasingSet`: every episode's instruction comes from another set of the env's phrasings (its
  `instruction_set` reset option): the dev paraphrases ("heldout", `HeldOutPhrasing`) or the
  frozen test ones ("test"), never seen in training.
- `ShuffledInstruction`: the same scene with an instruction about something else (the env's
  info["episode"]["shuffled_instruction"]): does the policy listen at all? `ReplacedInstruction`
  does the same with any fact of that kind (the tabletop's "verb_swap_instruction").
- `LatencyInTheLoop`: the world goes on under the last command while the policy thinks; the
  agent says how long it thought (`policy_took`) and the next step first lets that much
  simulated time pass (the env's `hold(seconds)`).
- `PrivilegedTarget`: the observation also says where the named object lies (the diagnosis
  policy that reads it; only simulation knows it).
"""

from __future__ import annotations

import gymnasium


class PhrasingSet(gymnasium.Wrapper):
    def __init__(self, env, instruction_set: str):
        super().__init__(env)
        self.instruction_set = instruction_set

    def reset(self, *, seed=None, options=None):
        options = {**(options or {}), "instruction_set": self.instruction_set}
        return self.env.reset(seed=seed, options=options)


class HeldOutPhrasing(PhrasingSet):
    def __init__(self, env):
        super().__init__(env, "heldout")


class ReplacedInstruction(gymnasium.Wrapper):
    """The scene as the seed draws it, told the instruction of the episode fact `fact`."""

    def __init__(self, env, fact: str):
        super().__init__(env)
        self.fact = fact

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.instruction = info["episode"].get(self.fact)
        if not self.instruction:
            raise ValueError(f"this episode has no {self.fact!r} (its task has no such control)")
        facts = {**info["episode"], "instruction": self.instruction}
        return {**obs, "instruction": self.instruction}, {**info, "episode": facts}

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return {**obs, "instruction": self.instruction}, reward, terminated, truncated, info


class ShuffledInstruction(ReplacedInstruction):
    def __init__(self, env):
        super().__init__(env, "shuffled_instruction")


class LatencyInTheLoop(gymnasium.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.pending = 0.0

    def policy_took(self, seconds: float) -> None:
        self.pending += seconds

    def reset(self, *, seed=None, options=None):
        self.pending = 0.0
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        if self.pending > 0:
            self.env.unwrapped.hold(self.pending)  # under the commands already given
            self.pending = 0.0
        return self.env.step(action)


class PrivilegedTarget(gymnasium.Wrapper):
    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.target_xy = list(info["episode"]["target_xy"])
        return {**obs, "target_xy": self.target_xy}, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return {**obs, "target_xy": self.target_xy}, reward, terminated, truncated, info
