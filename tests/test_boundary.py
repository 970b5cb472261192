"""The env boundary: the episode loop reads only what reset/step return, the evaluation
conditions are wrappers, suites sit behind one registry, and one Ray pool runs the jobs of
collection and evaluation, replacing a dead actor once however many of its jobs it lost."""

import os

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

from vla import rollout, suites
from vla.envs import wrappers
from vla.envs.tabletop_env import TabletopEnv


class BareEnv(gymnasium.Env):
    """A suite nobody wrote for the loop: no attribute beyond the gymnasium API is there to read.
    The 'robot' moves a point towards 1.0; success when it is there."""

    observation_space = spaces.Dict({"state": spaces.Box(-5, 5, (2,), np.float32)})
    action_space = spaces.Box(-1, 1, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = np.zeros(2, np.float32)
        self.t = 0
        facts = {
            "robot": "dot",
            "task": "go",
            "instruction": "go to one",
            "instruction_set": "train",
            "shuffled_instruction": "go to minus one",
            "fps": 5.0,
            "embodiment": {"name": "dot"},
            "cameras": [],
            "image_size": [0, 0],
            "max_steps": 20,
        }
        return self._obs(), {"is_success": False, "elapsed_steps": 0, "episode": facts}

    def step(self, action):
        self.x = self.x + 0.25 * np.asarray(action, np.float32)
        self.t += 1
        success = bool(self.x[0] >= 1.0)
        info = {"is_success": success, "elapsed_steps": self.t}
        return self._obs(), float(success), success, self.t >= 20, info

    def _obs(self):
        return {"state": self.x.copy(), "instruction": "go to one"}


def test_the_episode_loop_reads_only_what_reset_and_step_return():
    result = rollout.run_episode(BareEnv(), lambda obs: np.ones(2), seed=0, record=True)
    assert result["robot"] == "dot" and result["success"] and result["length"] == 4
    assert result["frames"]["state"].shape == (4, 2) and "target_track" not in result
    assert result["initial_state"]["layout"] is None
    shuffled = rollout.run_episode(
        wrappers.ShuffledInstruction(BareEnv()), lambda obs: np.ones(2), seed=0
    )
    assert shuffled["instruction"] == "go to minus one"


@pytest.fixture(scope="module")
def env():
    env = TabletopEnv(robot="ur5e", task="lift", image_obs=False)
    yield env
    env.close()


def test_heldout_and_shuffled_wrappers_change_only_the_instruction(env):
    from vla.envs import language

    obs, info = env.reset(seed=3)
    plain = info["episode"]
    obs_h, info_h = wrappers.HeldOutPhrasing(env).reset(seed=3)
    assert info_h["episode"]["instruction_set"] == "heldout"
    assert info_h["episode"]["layout"] == plain["layout"]
    templates = language.templates("lift", "heldout")
    color = plain["target"]
    assert obs_h["instruction"] in [t.format(obj=f"{color} cube") for t in templates]
    shuffled = wrappers.ShuffledInstruction(env)
    obs_s, info_s = shuffled.reset(seed=3)
    assert info_s["episode"]["layout"] == plain["layout"]
    assert color not in obs_s["instruction"] and obs_s["instruction"] != obs["instruction"]
    obs_s, *_ = shuffled.step(env.action_space.sample() * 0 + obs["state"])
    assert obs_s["instruction"] == info_s["episode"]["instruction"]


def test_latency_wrapper_lets_the_world_run_on_while_the_policy_thinks(env):
    lagged = wrappers.LatencyInTheLoop(env)
    ends = []
    for think in (0.0, 0.5):
        obs, _ = lagged.reset(seed=1)
        target = obs["state"].copy()
        target[0] += 0.3  # a joint command far from where the arm is
        lagged.step(target)
        lagged.policy_took(think)
        obs, *_ = lagged.step(target)
        ends.append(obs["state"][0])
    # held half a second longer under the same command: the joint got nearer its target
    assert abs(ends[1] - ends[0]) > 1e-3


def test_privileged_target_wrapper_adds_where_the_named_cube_lies(env):
    obs, info = wrappers.PrivilegedTarget(env).reset(seed=2)
    facts = info["episode"]
    assert obs["target_xy"] == list(facts["layout"][f"cube_{facts['target']}"][:2])


def test_the_suite_registry_expands_groups_and_names_the_valid_choices():
    tabletop = suites.get("tabletop")
    assert "lift" in tabletop.tasks and tabletop.controls[0] == "joint"
    with pytest.raises(ValueError, match="Did you mean 'lift'"):
        tabletop.check(["panda"], ["lfit"])
    with pytest.raises(ValueError, match="Unknown suite 'tabeltop'.*tabletop"):
        suites.get("tabeltop")
    assert tabletop.cells(None, "lift") == (list(tabletop.robots), ["lift"])
    assert tabletop.cells("ur5e", ["reach", "lift"]) == (["ur5e"], ["reach", "lift"])
    env = tabletop.make("panda", "reach", image_size=32, image_obs=False)
    assert env.reset(seed=0)[1]["episode"]["robot"] == "panda"
    env.close()


def test_the_ray_pool_replaces_a_dead_actor_once_and_loses_no_job(ray_cluster, tmp_path):
    import ray

    from vla.ray_pool import ActorPool

    @ray.remote(num_cpus=0)
    class Flaky:
        def run(self, job: int) -> int:
            marker = tmp_path / "died"
            if job == 3 and not marker.exists():
                marker.write_text("once")
                os._exit(1)  # the actor process dies mid-job
            return job * job

    queue, results, lost = list(range(10)), {}, []

    def back(job):
        lost.append(job)
        queue.append(job)

    pool = ActorPool(Flaky.remote, 2)
    pool.run(
        next_job=lambda: queue.pop(0) if queue else None,
        call=lambda actor, job: actor.run.remote(job),
        handle=lambda job, result: results.__setitem__(job, result),
        lost=back,
        in_flight=2,
    )
    assert results == {j: j * j for j in range(10)}
    assert 3 in lost and pool.restarts == 1  # one actor died, with up to two jobs in flight
