"""Collection with Ray into the on-disk format, replay, checks, resume after a kill, the loader."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from tests.conftest import DATASET_EPISODES as EPISODES
from tests.conftest import DATASET_ROBOTS as ROBOTS
from tests.conftest import DATASET_TASKS as TASKS
from vla.datasets import check, episode_io, layout, meta
from vla.datasets.loader import EpisodeDataset, balanced_sampler, make_loader
from vla.envs.tabletop_env import TabletopEnv


def test_collect_writes_every_episode_once(dataset):
    root, summary = dataset
    assert summary.written == len(ROBOTS) * len(TASKS) * EPISODES and not summary.incomplete
    records = meta.load_records(root)
    keys = [(r["robot"], r["task"], r["seed"]) for r in records]
    assert len(keys) == len(set(keys)) == 40
    info = layout.read_info(root)
    assert info["total_episodes"] == 40 and info["codebase_version"] == "v3.0"
    assert set(info["robots"]) == set(ROBOTS)
    assert info["total_frames"] == sum(r["length"] for r in records)
    assert check.check(root, decode_all=True) == []


def test_stats_are_keyed_by_robot_with_percentiles(dataset):
    root, _ = dataset
    stats = json.loads((root / layout.STATS).read_text())
    assert set(stats) == set(ROBOTS)
    for robot, s in stats.items():
        dim = {"sawyer": 8, "ur5e": 7}[robot]
        for key in (layout.STATE, layout.ACTION):
            for name in ("mean", "std", "min", "max", "q01", "q99"):
                assert len(s[key][name]) == dim, (robot, key, name)
            assert np.all(np.array(s[key]["q01"]) <= np.array(s[key]["q99"]))


def test_every_stored_episode_replays_to_success(dataset):
    root, _ = dataset
    envs = {}
    for path in layout.episode_files(root):
        record = episode_io.read_record(path)
        key = (record["robot"], record["task"])
        env = envs.get(key) or envs.setdefault(
            key, TabletopEnv(robot=key[0], task=key[1], image_obs=False)
        )
        obs, _ = env.reset(
            seed=record["seed"], options={"instruction_set": record["instruction_set"]}
        )
        assert obs["instruction"] == record["instruction"]
        table = pq.read_table(path, columns=[layout.STATE, layout.ACTION])
        states = np.stack(table[layout.STATE].to_numpy(zero_copy_only=False))
        np.testing.assert_allclose(obs["state"], states[0], atol=1e-6)
        for action in np.stack(table[layout.ACTION].to_numpy(zero_copy_only=False)):
            obs, _, term, trunc, info = env.step(action)
        assert info["is_success"] and term, path


def test_check_names_the_bad_file(dataset, tmp_path):
    root, _ = dataset
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    victim = layout.episode_files(copy)[5]
    victim.write_bytes(victim.read_bytes()[:200])  # truncated, as by a dying disk or copy
    problems = check.check(copy)
    assert problems and all(str(victim) in p or "frames" in p for p in problems), problems
    assert any(str(victim) in p for p in problems)
    out = subprocess.run(
        [sys.executable, "-m", "vla.cli", "dataset", "check", str(copy)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1 and str(victim) in out.stderr


def test_missing_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="vla collect"):
        EpisodeDataset(tmp_path / "nowhere")
    assert "no such directory" in check.check(tmp_path / "nowhere")[0]


def test_resume_after_a_kill_has_every_episode_exactly_once(tmp_path):
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "vla.cli",
        "collect",
        "robots=[sawyer]",
        "tasks=[lift]",
        "episodes=8",
        f"output={out}",
        "image_size=32",
        "workers=1",
        "progress=false",
    ]
    proc = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 240
    while time.time() < deadline and len(layout.episode_files(out)) < 3 and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Ray processes, mid-run
    proc.wait()
    before = {episode_io.read_record(p)["seed"] for p in layout.episode_files(out)}
    assert 3 <= len(before) < 8, "the kill should land mid-collection"
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    records = meta.load_records(out)
    seeds = sorted(r["seed"] for r in records)
    assert len(seeds) == len(set(seeds)) == 8 and before <= set(seeds)
    assert sorted(r["episode_index"] for r in records) == list(range(8))
    assert check.check(out) == []


def test_loader_mixes_robots_with_padding_and_chunk_masks(dataset):
    root, _ = dataset
    ds = EpisodeDataset(root, horizon=6, split="all")
    assert ds.max_dim == 8
    # The last frame of an episode: one real action, the rest padding.
    last = int(np.flatnonzero(ds.frame_index == 0)[1]) - 1
    sample = ds[last]
    assert sample["action_is_pad"].tolist() == [False] + [True] * 5
    assert torch.equal(sample["actions"][1], sample["actions"][0])
    ur5e = next(i for i in range(len(ds)) if ds[i]["robot"] == "ur5e")
    s = ds[ur5e]
    assert s["dim_mask"].tolist() == [True] * 7 + [False] and s["actions"][:, 7].abs().sum() == 0
    assert s["images"].shape == (2, 3, 32, 32) and s["images"].dtype == torch.uint8
    batch = next(iter(make_loader(ds, batch_size=32, workers=2)))
    assert batch["images"].shape == (32, 2, 3, 32, 32) and batch["actions"].shape == (32, 6, 8)
    assert set(batch["robot"]) == set(ROBOTS)


def test_loader_gives_the_named_cubes_position_in_each_frame(dataset):
    """target_xy and target_uv (the localizer's labels) are the cube the instruction names:
    where it is in the sample's frame (in the first, where the layout put it), and where the
    front camera shows it (the wrist camera moves, so it has no label)."""
    root, _ = dataset
    ds = EpisodeDataset(root, horizon=4, split="all")
    assert list(ds.cameras)[:2] == ["front", "wrist"]
    dominant = {"red": 0, "green": 1, "blue": 2}
    for i in range(0, len(ds), max(1, len(ds) // 15)):
        sample = ds[i]
        record = episode_io.read_record(root / ds.episodes[int(ds.frame_episode[i])]["data_path"])
        target = record["initial_state"]["target"]
        assert target in sample["instruction"]
        t = int(sample["frame_index"])
        expected = record["target_track"]["xy"][t]
        np.testing.assert_allclose(sample["target_xy"].numpy(), expected, atol=1e-6)
        front_uv, wrist_uv = sample["target_uv"].numpy()
        assert np.isfinite(front_uv).all() and np.isnan(wrist_uv).all()
        start = ds[i - t]
        start_xy = record["initial_state"]["layout"][f"cube_{target}"][:2]
        np.testing.assert_allclose(start["target_xy"].numpy(), start_xy, atol=1e-3)
        # the label points at the named cube's colour in the episode's first front image
        first = start["images"][0].permute(1, 2, 0).numpy()
        front_uv = start["target_uv"][0].numpy()
        x, y = ((front_uv + 1) / 2 * first.shape[0]).astype(int)
        patch = first[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2].reshape(-1, 3).astype(int)
        c = dominant[target]
        others = [k for k in range(3) if k != c]
        assert (patch[:, c] > patch[:, others].max(1) + 40).any(), (target, patch)
        # reach and lift name no place to put the cube
        assert (
            np.isnan(sample["goal_xy"].numpy()).all() and np.isnan(sample["goal_uv"].numpy()).all()
        )


@pytest.mark.parametrize("task", ["push", "place"])
def test_goal_labels_point_at_the_fixture_the_sentence_names(task):
    """Place and push record which fixture the cube should end on, and where it lies: the
    labels of the localizer's goal map. The mark is orange; the plate is near-white."""
    from vla.datasets.loader import target_labels
    from vla.rollout import run_episode

    env = TabletopEnv(robot="ur5e", task=task, image_size=64)
    options = {"receptacle": "plate"} if task == "place" else None
    for seed in range(3):
        record = run_episode(env, env.expert(), seed=seed, record=True, options=options)
        initial = record["initial_state"]
        goal = initial["goal"]
        assert goal == ("mark" if task == "push" else "plate") and goal in record["instruction"]
        labels = target_labels(record, ["front", "wrist"])
        np.testing.assert_allclose(labels["goal_xy"], initial["layout"][goal][:2], atol=1e-6)
        assert np.isnan(labels["goal_uv"][1]).all()  # the wrist camera moves
        u, v = labels["goal_uv"][0]
        first = record["frames"]["images"]["front"][0]
        x, y = int((u + 1) / 2 * 64), int((v + 1) / 2 * 64)
        r, g, b = first[y, x].astype(int)
        if goal == "mark":
            assert r > 150 and r > b + 80, (seed, first[y, x])
        else:
            assert min(r, g, b) > 150, (seed, first[y, x])
        # the named cube's label follows it there: first frame at its start, last at the goal
        track = labels["target_xy"]
        assert track.shape == (record["length"], 2)
        target = f"cube_{initial['target']}"
        np.testing.assert_allclose(track[0], initial["layout"][target][:2], atol=1e-3)
        assert np.linalg.norm(track[-1] - track[0]) > 0.05
        assert np.linalg.norm(track[-1] - labels["goal_xy"]) < 0.05
    env.close()


def test_episodes_without_a_track_label_every_frame_with_the_start():
    """Datasets collected before the per-frame track still load: every frame's label is the
    cube's starting place."""
    from vla.datasets.loader import target_labels

    record = {
        "length": 3,
        "initial_state": {
            "target": "red",
            "layout": {"cube_red": [0.4, 0.1, 0.02]},
            "pixels": {"front": {"cube_red": [0.2, -0.3]}},
        },
    }
    labels = target_labels(record, ["front", "wrist"])
    np.testing.assert_allclose(labels["target_xy"], [[0.4, 0.1]] * 3, atol=1e-6)
    np.testing.assert_allclose(labels["target_uv"][:, 0], [[0.2, -0.3]] * 3, atol=1e-6)
    assert labels["target_uv"].shape == (3, 2, 2) and np.isnan(labels["target_uv"][:, 1]).all()


def test_balanced_sampling_evens_out_groups(dataset):
    root, _ = dataset
    ds = EpisodeDataset(root, horizon=4, split="all")
    counts = np.bincount(ds.frame_group)
    assert counts.max() > 1.5 * counts.min()  # lift episodes are longer than reach ones
    drawn = np.bincount(
        ds.frame_group[list(balanced_sampler(ds, num_samples=8000))], minlength=len(counts)
    )
    assert np.all(np.abs(drawn / drawn.sum() - 1 / len(counts)) < 0.03), drawn


def test_splits_are_disjoint_and_stable(dataset):
    root, _ = dataset
    train = EpisodeDataset(root, split="train", val_fraction=0.25)
    val = EpisodeDataset(root, split="val", val_fraction=0.25)
    a = {e["episode_index"] for e in train.episodes}
    b = {e["episode_index"] for e in val.episodes}
    assert a.isdisjoint(b) and len(a | b) == 40 and len(b) > 0


def test_augmentation_keeps_shape_and_changes_pixels(dataset):
    root, _ = dataset
    plain = EpisodeDataset(root, split="all")
    torch.manual_seed(0)
    aug = EpisodeDataset(root, split="all", augment=True)
    x, y = plain[10]["images"], aug[10]["images"]
    assert x.shape == y.shape and x.dtype == y.dtype and not torch.equal(x, y)


def _rewrite(root, index, new_index, change_action=False):
    """Rewrite episode `index` as episode `new_index` (optionally nudging one action)."""
    path = layout.episode_path(root, index)
    table = episode_io.read_frames(path)
    record = episode_io.record_of(table, path)
    cams = [c for c in table.column_names if c.startswith(layout.IMAGE_PREFIX)]
    frames = {
        "images": {c[len(layout.IMAGE_PREFIX) :]: table[c].to_pylist() for c in cams},
        "state": np.stack(table[layout.STATE].to_numpy(zero_copy_only=False)),
        "action": np.stack(table[layout.ACTION].to_numpy(zero_copy_only=False)),
    }
    if change_action:
        frames["action"][0, 0] += 1e-3
    path.unlink()
    for key in ("episode_index", "length"):
        record.pop(key)
    episode_io.write_episode(root, new_index, record, frames)


def test_fingerprint_ignores_episode_order_but_not_content(dataset, tmp_path):
    """Ray finishes episodes in any order: the same episodes numbered differently hash the
    same; one changed action does not."""
    from vla.datasets.fingerprint import fingerprint

    root, _ = dataset
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    _rewrite(copy, 0, 10_000)
    _rewrite(copy, 1, 0)
    _rewrite(copy, 10_000, 1)
    meta.finalize(copy)
    assert fingerprint(copy) == fingerprint(root)
    _rewrite(copy, 2, 2, change_action=True)
    assert fingerprint(copy)["sha256"] != fingerprint(root)["sha256"]


def test_dataset_track_adds_the_labels_collection_now_records(dataset, tmp_path):
    """`vla dataset track` replays episodes collected before the per-frame track and gives
    them the labels collection writes today; a replay that leaves the stored states is refused."""
    from vla.datasets.track import add_target_tracks, replay_track

    root, _ = dataset
    old = tmp_path / "old"
    shutil.copytree(root, old)
    files = layout.episode_files(old)[:6]
    recorded = {}
    for path in files:
        record = episode_io.read_record(path)
        recorded[path.name] = record.pop("target_track")
        episode_io.write_table(path, episode_io.read_frames(path), record)
    for path in layout.episode_files(old)[6:]:
        path.unlink()  # keep the test short: six episodes to replay
    assert add_target_tracks(old, log=lambda _: None) == len(files)
    for path in files:
        replayed = episode_io.read_record(path)["target_track"]
        np.testing.assert_allclose(replayed["xy"], recorded[path.name]["xy"], atol=1e-9)
        for cam, uv in recorded[path.name]["pixels"].items():
            np.testing.assert_allclose(replayed["pixels"][cam], uv, atol=1e-9)
    assert add_target_tracks(old, log=lambda _: None) == 0  # done ones are left alone

    record = episode_io.read_record(files[0])
    table = episode_io.read_frames(files[0])
    states = np.stack(table[layout.STATE].to_numpy(zero_copy_only=False))
    actions = np.stack(table[layout.ACTION].to_numpy(zero_copy_only=False))
    env = TabletopEnv(robot=record["robot"], task=record["task"], image_obs=False)
    with pytest.raises(ValueError, match="does not replay"):
        replay_track(env, record, states + 0.01, actions)
    env.close()


def test_dataset_track_on_a_folder_that_is_not_a_dataset_says_so(tmp_path, capsys):
    from vla.cli import main

    assert main(["dataset", "track", str(tmp_path)]) == 2
    assert "no episode files" in capsys.readouterr().err
