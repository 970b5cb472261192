"""`vla eval` and `vla run`: Ray workers, batched policy server, streamed results, resume,
a worker killed mid-run, the report, and single episodes from an instruction."""

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import ray
import torch

from vla.evaluation.evaluate import EvalConfig, evaluate, job_key
from vla.evaluation.wilson import wilson

ROBOTS, TASKS = ["sawyer", "ur5e"], ["reach", "lift"]


def lines(output) -> list[dict]:
    return [json.loads(x) for x in (Path(output) / "episodes.jsonl").read_text().splitlines() if x]


def test_wilson_interval_matches_known_values():
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_expert_eval_writes_the_report(ray_cluster, tmp_path):
    cfg = EvalConfig(
        policy_path="expert",
        robots=ROBOTS,
        tasks=TASKS,
        episodes=3,
        output=str(tmp_path / "ev"),
        workers=2,
        image_size=32,
        videos=1,
        progress=False,
        test_phrasings=True,
        combinations=["lift:red"],
    )
    results = evaluate(cfg)
    records = lines(cfg.output)
    # train, dev, test, shuffled on 4 cells; the verb swap and the left-out combination on lift
    assert len(records) == len({job_key(r) for r in records}) == 3 * 4 * 4 + 3 * 2 + 3 * 2
    assert all(r["initial_state"]["state"] and r["initial_state"]["layout"] for r in records)
    saved = json.loads((tmp_path / "ev" / "results.json").read_text())
    assert saved["cells"] == results["cells"] and len(saved["cells"]) == 4
    for cell in saved["cells"]:
        assert set(cell) == {"robot", "task", "episodes", "successes", "success_rate", "ci95"}
        assert cell["episodes"] == 3 and cell["success_rate"] == 1.0
        # Wilson 95% for 3/3: [3 / (3 + 1.96^2), 1] = [0.438, 1.0]
        assert cell["ci95"] == pytest.approx([0.4385, 1.0], abs=1e-3)
    assert set(saved["conditions"]) == {
        "train", "heldout", "test", "shuffled", "verb_swap", "combination"
    }  # fmt: skip
    language_conditions_hold(records, saved, (tmp_path / "ev" / "results.md").read_text())
    assert "| sawyer | lift | 3 | 3 |" in (tmp_path / "ev" / "results.md").read_text()
    assert (tmp_path / "ev" / "chart.png").stat().st_size > 1000
    assert len(list((tmp_path / "ev" / "videos").glob("*.mp4"))) == 4
    assert 50 < saved["worker_peak_rss_mb"] < 4096


def language_conditions_hold(records: list[dict], saved: dict, page: str) -> None:
    """Each language condition told the episode what it promises (the scripted expert does the
    scene's task whatever it hears: these are the conditions' plumbing, not a policy's skill)."""
    from vla.envs import language, test_phrasings

    by = {c: [r for r in records if r["condition"] == c] for c in saved["conditions"]}
    for r in by["verb_swap"]:  # a lift scene told to touch its cube
        target = r["initial_state"]["target"]
        assert r["task"] == "lift" and r["instruction"] == f"touch the {target} cube"
    for r in by["combination"]:
        assert r["combination"] == "lift:red" and r["initial_state"]["target"] == "red"
    seen = [r for r in by["train"] if r["task"] == "lift" and r["initial_state"]["target"] != "red"]
    assert saved["conditions"]["combination"]["seen_combinations"]["episodes"] == len(seen)
    for r in by["test"]:
        slots = {
            "obj": f"{r['initial_state']['target']} cube",
            "color": r["initial_state"]["target"],
        }
        assert r["instruction"] in {
            t.format(**slots) for t in language.templates(r["task"], "test")
        }
    assert saved["test_phrasings_sha256"] == test_phrasings.FINGERPRINT
    assert test_phrasings.FINGERPRINT in page and "lift (lift:red)" in page


def test_a_worker_keeps_only_its_last_few_envs(ray_cluster):
    """Episodes come cell by cell; a worker that kept every cell's env held ~4.6 GB over
    Meta-World's 50 tasks. It closes the least recently used beyond `max_envs`."""
    from vla.evaluation.workers import EvalWorker

    worker = EvalWorker.remote("tabletop", 32, max_envs=2)
    for task in ("reach", "lift", "reach", "place"):
        job = {"robot": "sawyer", "task": task, "seed": 0, "condition": "train"}
        assert ray.get(worker.run.remote(job))["success"]
    assert ray.get(worker.open_envs.remote()) == [
        ("sawyer", "reach", False),
        ("sawyer", "place", False),
    ]


def test_rerun_resumes_and_a_cut_line_is_rerun(ray_cluster, tmp_path):
    cfg = EvalConfig(
        policy_path="expert",
        robots=["sawyer"],
        tasks=["reach"],
        episodes=4,
        output=str(tmp_path / "ev"),
        workers=2,
        image_size=32,
        videos=0,
        language_checks=False,
        progress=False,
    )
    evaluate(cfg)
    path = tmp_path / "ev" / "episodes.jsonl"
    first = path.read_text().splitlines()
    path.write_text(
        "\n".join(first[:2]) + "\n" + first[2][: len(first[2]) // 2]
    )  # a crash mid-write
    results = evaluate(cfg)
    records = lines(cfg.output)
    assert sorted(r["seed"] for r in records) == [1000, 1001, 1002, 1003]
    assert results["cells"][0]["episodes"] == 4


def test_a_worker_killed_mid_eval_loses_no_episode(ray_cluster, tmp_path):
    import ray

    killed = []

    def kill_one(done, workers):
        if done == 2 and not killed:
            pid = ray.get(workers[0].pid.remote())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    cfg = EvalConfig(
        policy_path="expert",
        robots=["ur5e"],
        tasks=["reach", "lift"],
        episodes=4,
        output=str(tmp_path / "ev"),
        workers=2,
        image_size=32,
        videos=0,
        language_checks=False,
        progress=False,
    )
    results = evaluate(cfg, hooks=kill_one)
    records = lines(cfg.output)
    keys = [job_key(r) for r in records]
    assert killed and results["worker_restarts"] >= 1
    assert len(keys) == len(set(keys)) == 8


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """An untrained small policy for sawyer and ur5e at 32 px: the plumbing, not the skill."""
    from tests.expert_stats import schemas_and_stats
    from tests.tiny import tiny
    from vla.policies.vla_policy import VLAPolicy

    schemas, stats = schemas_and_stats(ROBOTS)
    torch.manual_seed(0)
    cfg = tiny()
    path = tmp_path_factory.mktemp("ckpt") / "policy"
    VLAPolicy(cfg, schemas, stats).save_pretrained(path)
    return path


def test_policy_eval_runs_through_one_policy_server(ray_cluster, tiny_checkpoint, tmp_path):
    cfg = EvalConfig(
        policy_path=str(tiny_checkpoint),
        robots=ROBOTS,
        tasks=["reach"],
        episodes=1,  # one per robot: two workers ask at once (an untrained policy runs long)
        output=str(tmp_path / "ev"),
        workers=2,
        videos=1,
        language_checks=False,
        progress=False,
        latency_ms=100.0,
    )
    results = evaluate(cfg)
    records = lines(cfg.output)
    assert len(records) == 2 and len(results["cells"]) == 2
    batching = results["policy_batching"]
    chunks = [-(-r["length"] // 4) for r in records]  # 4 actions run per predicted chunk
    assert batching["requests"] == sum(chunks)
    # on a CPU each observation has a pass of its own (batch_policy=None): no episode's actions
    # depend on which other episode asked at the same moment
    assert batching["largest_batch"] == 1 and batching["forward_passes"] == batching["requests"]
    # latency in the loop: the world ran on 100 ms for every chunk the policy was asked for
    for record, n in zip(records, chunks, strict=True):
        assert record["policy_wait_s"] == pytest.approx(0.1 * n)
    # temporal ensembling, turned on for a checkpoint trained without it: a chunk every step
    ensembled = evaluate(replace(cfg, robots=ROBOTS[:1], workers=1, videos=0, latency_ms=None,
                                 temporal_ensemble=0.01, output=str(tmp_path / "ens")))  # fmt: skip
    assert ensembled["policy_batching"]["requests"] == lines(tmp_path / "ens")[0]["length"]
    with pytest.raises(ValueError, match="weight decay >= 0"):
        replace(cfg, temporal_ensemble=-0.5)
    with pytest.raises(ValueError, match="not trained for"):
        evaluate(
            EvalConfig(
                policy_path=str(tiny_checkpoint),
                robots=["panda"],
                tasks=["reach"],
                episodes=1,
                output=str(tmp_path / "ev2"),
                workers=1,
                progress=False,
            )
        )
    assert not (tmp_path / "ev2").exists()  # refused from the checkpoint, before anything ran


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "vla.cli", "run", *args], capture_output=True, text=True, timeout=300
    )


def test_vla_run_from_an_instruction(tmp_path, tiny_checkpoint, capsys):
    out = run_cli(
        "robot=panda",
        "instruction=put the red cube in the bowl",
        "image_size=48",
        f"output={tmp_path}",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "place (red cube, bowl)" in out.stdout and "success=True" in out.stdout
    assert (tmp_path / "panda_place_seed0.mp4").stat().st_size > 1000
    from vla.cli import main  # what the script runs; in this process, no interpreter start

    assert main(["run", "robot=panda", "instruction=do something nice"]) == 2
    err = capsys.readouterr().err
    assert "name a cube colour" in err and "task=reach|lift|place|push target=" in err
    # the scene set apart from the sentence: one the keyword reader cannot place runs as given
    scene = ["task=lift", "target=green", "instruction=hoist it skyward", "image_size=32"]
    assert main(["run", "robot=panda", *scene, f"output={tmp_path / 's'}"]) in (0, 1)
    out = capsys.readouterr().out
    assert 'lift (green cube) | "hoist it skyward"' in out
    assert main(["run", "task=lift", "target=red", "receptacle=bowl"]) == 2
    assert "receptacle= is for task=place" in capsys.readouterr().err
    other = ["robot=panda", "instruction=touch the red cube", f"policy.path={tiny_checkpoint}"]
    assert main(["run", *other]) == 2
    assert "not trained for it" in capsys.readouterr().err


def server_observations(config: dict, robots, rng=None) -> list[tuple[dict, str]]:
    """(observation, robot) pairs shaped as the policy server's `config` says: blank images
    and states, or random ones drawn from `rng` (so that no two are alike)."""
    import numpy as np

    shape = (config["image_size"], config["image_size"], 3)
    pairs = []
    for robot in robots:
        state_dim = len(config["schemas"][robot]["joint_names"]) + 1
        images = {
            c: np.zeros(shape, np.uint8)
            if rng is None
            else rng.integers(0, 255, shape, dtype=np.uint8)
            for c in ("front", "wrist")
        }
        state = (
            np.zeros(state_dim, np.float32)
            if rng is None
            else rng.normal(0, 0.5, state_dim).astype(np.float32)
        )
        pairs.append(
            ({"images": images, "state": state, "instruction": "touch the red cube"}, robot)
        )
    return pairs


def test_policy_server_answers_concurrent_requests_in_one_forward_pass(
    ray_cluster, tiny_checkpoint
):
    """Requests from several workers that arrive within the gathering window are one batch."""
    import ray

    from vla.evaluation.workers import PolicyServer

    server = PolicyServer.remote(str(tiny_checkpoint), "cpu", wait_ms=500.0)
    config = ray.get(server.config.remote())
    observations = server_observations(config, ("ur5e", "sawyer", "ur5e", "sawyer"))
    chunks = ray.get([server.predict.remote(obs, robot) for obs, robot in observations])
    assert [c.shape[1] for c in chunks] == [7, 8, 7, 8]  # each robot's own action size
    assert ray.get(server.stats.remote()) == {
        "requests": 4,
        "forward_passes": 1,
        "largest_batch": 4,
    }


def test_an_unbatched_policy_server_answers_each_observation_as_if_alone(
    ray_cluster, tiny_checkpoint
):
    """batched=False: requests that arrive together still get one forward pass each, and each
    chunk is exactly what the policy gives that observation alone (a batch's float rounding
    differs with its size)."""
    import numpy as np
    import ray

    from vla.evaluation.workers import PolicyServer
    from vla.policies.vla_policy import VLAPolicy

    server = PolicyServer.remote(str(tiny_checkpoint), "cpu", wait_ms=500.0, batched=False)
    config = ray.get(server.config.remote())
    observations = server_observations(config, ("ur5e", "ur5e", "sawyer"), np.random.default_rng(0))
    chunks = ray.get([server.predict.remote(obs, robot) for obs, robot in observations])
    assert ray.get(server.stats.remote()) == {
        "requests": 3,
        "forward_passes": 3,
        "largest_batch": 1,
    }
    policy = VLAPolicy.from_pretrained(str(tiny_checkpoint), device="cpu")
    for (obs, robot), chunk in zip(observations, chunks, strict=True):
        np.testing.assert_array_equal(chunk, policy.infer(obs, robot)["actions"])


def test_a_rerun_resumes_only_the_same_evaluation(tmp_path, capsys):
    """New weights in the same output folder (make checkpoint, then make demo) must not be
    reported with the old weights' episodes; the old ones are moved aside, not deleted."""
    from vla.evaluation import resume

    out = tmp_path / "ev"
    out.mkdir()
    first = {"policy": "aaa", "image_size": None, "latency_ms": None, "n_action_steps": None}
    assert resume.prepare(out, first) is None
    (out / "episodes.jsonl").write_text('{"robot": "ur5e"}\n')
    assert resume.prepare(out, first) is None  # same evaluation: resumed as it is
    assert (out / "episodes.jsonl").read_text() == '{"robot": "ur5e"}\n'
    moved = resume.prepare(out, {**first, "policy": "bbb"})
    assert moved is not None and not (out / "episodes.jsonl").exists()
    assert (moved / "episodes.jsonl").read_text() == '{"robot": "ur5e"}\n'
    assert json.loads((moved / "run.json").read_text()) == first
    assert json.loads((out / "run.json").read_text())["policy"] == "bbb"
    assert "another checkpoint" in capsys.readouterr().out


def test_weights_hash_follows_the_weights(tmp_path):
    from vla.evaluation import resume

    (tmp_path / "model.safetensors").write_bytes(b"one")
    before = resume.weights_hash(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"two")
    assert resume.weights_hash(tmp_path) != before
