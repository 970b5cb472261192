"""What `vla collect` writes is LeRobotDataset v3, and LeRobot datasets train with `vla train`.

The format rules LeRobot 0.4.4's reader needs (docs/notes/lerobot_v3_format.md, "MUST") are
checked here without LeRobot, and a dataset laid out as anyone else's (other key names, no vla
records) trains through a manifest's mapping. With a Python that has lerobot installed (the
VLA_LEROBOT_PYTHON environment variable), LeRobot's own LeRobotDataset loads what we collect,
and a dataset written by LeRobot's own writer trains with `vla train`.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.test_datasets import episodes, stage
from tests.test_training import TINY_ARGS
from vla.datasets import layout, meta, mixture
from vla.datasets import lerobot_v3 as v3
from vla.datasets.loader import EpisodeDataset
from vla.policies.vla_policy import VLAPolicy

LEROBOT_PYTHON = os.environ.get("VLA_LEROBOT_PYTHON")
STATE_WIDTH = 3
needs_lerobot = pytest.mark.skipif(
    not LEROBOT_PYTHON,
    reason="set VLA_LEROBOT_PYTHON to a Python with lerobot==0.4.4 installed (docs/dataset.md): "
    "lerobot pins torch<2.11 and cannot share this venv",
)


@pytest.fixture(scope="module")
def packed(dataset, tmp_path_factory):
    """The collected episodes packed again with a small file limit, so that each robot's
    episodes spread over several data files."""
    root, _ = dataset
    dst = tmp_path_factory.mktemp("lerobot") / "mix"
    items = list(episodes(root))
    stage(dst, items)
    meta.finalize(dst, file_mb=0.05)
    return root, dst, items


def test_the_format_follows_what_lerobots_reader_needs(packed):
    _, dst, _ = packed
    manifest = json.loads((dst / layout.MANIFEST).read_text())
    for d in manifest["datasets"]:
        ds = dst / d["path"]
        info = json.loads((ds / "meta" / "info.json").read_text())
        assert info["codebase_version"] == "v3.0" and info["robot_type"] == d["robot"]
        assert (info["total_episodes"], info["total_frames"]) == (d["episodes"], d["frames"])
        features = info["features"]
        for name in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
            assert features[name]["shape"] == [1]
        for name, f in features.items():
            assert "/" not in name
            assert isinstance(f["shape"], list) and all(isinstance(n, int) for n in f["shape"])
            assert ("image" in name) == (f["dtype"] == "image")
        files = v3.data_files(ds)
        assert len(files) > 1  # rolled over at the small limit
        table = pq.read_table(files[0])
        # one column per feature, no more, no fewer (LeRobot's reader refuses an extra one)
        assert sorted(table.column_names) == sorted(features)
        frames = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
        assert frames["index"].tolist() == list(range(info["total_frames"]))
        episodes_ = pq.read_table(ds / v3.EPISODES).to_pandas()
        assert episodes_["episode_index"].tolist() == list(range(info["total_episodes"]))
        tasks = pd.read_parquet(ds / "meta" / "tasks.parquet")
        assert tasks["task_index"].tolist() == list(range(len(tasks)))
        for _, e in episodes_.iterrows():
            rows = frames.iloc[e["dataset_from_index"] : e["dataset_to_index"]]
            assert (rows["episode_index"] == e["episode_index"]).all()
            assert rows["frame_index"].tolist() == list(range(e["length"]))
            np.testing.assert_allclose(rows["timestamp"], np.arange(e["length"]) / info["fps"])
            assert tasks.index[rows["task_index"].iloc[0]] == e["tasks"][0]
            # the data file the episode names holds all of it (an episode is never split)
            path = v3.data_path(ds, info["data_path"], e["data/chunk_index"], e["data/file_index"])
            held = pq.read_table(path, columns=["episode_index"]).column(0).to_numpy()
            assert (held == e["episode_index"]).sum() == e["length"]


def test_frames_actions_and_stats_are_what_was_collected(packed):
    _, dst, items = packed
    by_key = {(r["robot"], r["task"], r["seed"]): (r, f) for r, f in items}
    for source in meta.open_sources(dst):
        frames = pd.concat(
            [pq.read_table(f).to_pandas() for f in v3.data_files(source.root)], ignore_index=True
        )
        for pos in (0, len(source.rows) - 1):
            row, record = source.rows[pos], source.records[pos]
            staged, data = by_key[record["robot"], record["task"], record["seed"]]
            assert {k: v for k, v in record.items() if k != "episode_index"} == {
                k: v for k, v in staged.items() if k != "episode_index"
            }
            rows = frames.iloc[row["dataset_from_index"] : row["dataset_to_index"]]
            np.testing.assert_array_equal(np.stack(rows[layout.ACTION]), data["action"])
            np.testing.assert_array_equal(np.stack(rows[layout.STATE]), data["state"])
            for cam, pngs in data["images"].items():
                assert rows[f"{layout.IMAGE_PREFIX}{cam}"].iloc[3]["bytes"] == pngs[3]
        stats = json.loads((source.root / v3.STATS).read_text())
        action = np.stack(frames[layout.ACTION]).astype(np.float64)
        np.testing.assert_allclose(stats[layout.ACTION]["mean"], action.mean(0), rtol=1e-5)
        np.testing.assert_allclose(stats[layout.ACTION]["q50"], np.median(action, 0), rtol=1e-5)
        front = np.asarray(stats[f"{layout.IMAGE_PREFIX}front"]["mean"])
        assert front.shape == (3, 1, 1) and (front > 0).all() and (front < 1).all()


def foreign_copy(packed_root, dst):
    """ur5e's dataset as someone else would publish it: the front camera under another key, no
    wrist camera, no vla records, another robot_type, and a state narrower than the action
    (the first STATE_WIDTH entries)."""
    src = packed_root / "ur5e"
    shutil.copytree(src / "meta", dst / "meta")
    (dst / "meta" / "stats.json").unlink()  # not every published dataset has one
    for path in v3.data_files(src):
        table = pq.read_table(path).drop_columns([f"{layout.IMAGE_PREFIX}wrist"])
        state = v3.vectors(table[layout.STATE])[:, :STATE_WIDTH]
        column = table.column_names.index(layout.STATE)
        table = table.set_column(column, layout.STATE, v3.fixed_list(state))
        names = [n.replace("images.front", "images.top") for n in table.column_names]
        out = dst / path.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.rename_columns(names), out)
    rows = pq.read_table(dst / v3.EPISODES).drop_columns([v3.RECORD])
    pq.write_table(rows, dst / v3.EPISODES)
    info = json.loads((dst / v3.INFO).read_text())
    features = info["features"]
    features.pop(f"{layout.IMAGE_PREFIX}wrist")
    features[f"{layout.IMAGE_PREFIX}top"] = features.pop(f"{layout.IMAGE_PREFIX}front")
    features[layout.STATE] = v3.vector_feature(STATE_WIDTH, ["x", "y", "z"])
    (dst / v3.INFO).write_text(json.dumps({**info, "robot_type": "ur5e_real"}))
    return dst


def write_manifest(path, entries):
    path.write_text(json.dumps({"format": mixture.FORMAT, "datasets": entries}))
    return path


def test_a_mixture_reads_anyones_dataset_through_its_mapping(packed, tmp_path):
    root, dst, _ = packed
    theirs = foreign_copy(dst, tmp_path / "theirs")
    entries = [
        {"path": str(theirs), "cameras": {"front": "observation.images.top"}, "weight": 3.0},
        {"path": str(dst / "sawyer")},
    ]
    manifest = write_manifest(tmp_path / "mix.json", entries)
    ds = EpisodeDataset(manifest, horizon=4, split="all", cameras=["front"])
    assert ds.robots == ["sawyer", "ur5e_real"]
    schema = ds.schemas["ur5e_real"]
    ours = meta.open_sources(dst / "ur5e")[0].embodiment
    assert schema.action_dim == ours.action_dim and schema.joint_names == ours.joint_names
    assert schema.state_dim == STATE_WIDTH and schema.state_names == ("x", "y", "z")
    assert schema.control_hz == ours.control_hz and schema.cameras == ("front",)
    sample = ds[0]
    assert sample["robot"] == "ur5e_real" and sample["images"].shape == (1, 3, 32, 32)
    # foreign episodes have no localizer labels
    assert np.isnan(sample["target_xy"].numpy()).all()
    # weight 3 against 1: three quarters of the draws come from their dataset
    from vla.datasets.loader import balanced_sampler

    drawn = [ds.episodes[ds.frame_episode[i]]["robot"] for i in balanced_sampler(ds, 4000)]
    assert abs(drawn.count("ur5e_real") / len(drawn) - 0.75) < 0.03
    # a mapping that names a key the dataset lacks says which keys there are
    write_manifest(tmp_path / "bad.json", [{"path": str(theirs), "state": "observation.joints"}])
    with pytest.raises(ValueError, match="observation.joints.*it has"):
        EpisodeDataset(tmp_path / "bad.json")
    write_manifest(tmp_path / "typo.json", [{"path": str(theirs), "wieght": 2}])
    with pytest.raises(ValueError, match="unknown keys.*wieght"):
        EpisodeDataset(tmp_path / "typo.json")


def train_tiny(dataset_path, output, *extra):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "vla.cli",
            "train",
            f"dataset={dataset_path}",
            f"output={output}",
            "policy.cameras=[front]",
            "train.steps=6",
            "train.save_every=6",
            "train.val_every=6",
            *TINY_ARGS,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_trained_for(output, robot, dim, state_dim):
    lines = (output / "metrics.jsonl").read_text().splitlines()
    vals = [json.loads(line)["val_loss"] for line in lines if "val_loss" in line]
    assert vals and np.isfinite(vals).all()
    policy = VLAPolicy.from_pretrained(output / "policy")
    assert policy.schemas[robot].action_dim == dim
    chunk = policy.predict_action_chunk(
        {
            "images": {"front": np.zeros((32, 32, 3), np.uint8)},
            "state": np.zeros(state_dim),
            "instruction": "lift the red cube",
        },
        robot,
    )
    assert np.asarray(chunk).shape[-1] == dim and np.isfinite(chunk).all()


def test_vla_train_learns_from_a_foreign_dataset_by_its_manifest(packed, tmp_path):
    _, dst, _ = packed
    theirs = foreign_copy(dst, tmp_path / "theirs")
    entry = {"path": str(theirs), "robot": "arm", "cameras": {"front": "observation.images.top"}}
    manifest = write_manifest(tmp_path / "mix.json", [entry])
    out = train_tiny(manifest, tmp_path / "run")
    assert out.returncode == 0, out.stderr[-3000:]
    assert_trained_for(tmp_path / "run", "arm", 7, STATE_WIDTH)


@needs_lerobot
def test_lerobot_itself_loads_what_vla_collect_wrote(packed, tmp_path):
    """LeRobot's LeRobotDataset reads each robot's dataset: length, an item's action chunk with
    padding at the episode's end, its image, its task and the stats, as in our files."""
    _, dst, _ = packed
    source = meta.open_sources(dst)[0]
    script = textwrap.dedent(
        """
        import json, sys
        from lerobot.datasets.lerobot_dataset import LeRobotDataset
        fps = float(sys.argv[2])
        ds = LeRobotDataset("local/vla", root=sys.argv[1],
                            delta_timestamps={"action": [i / fps for i in range(4)]})
        last = ds[len(ds) - 1]
        first = ds[0]
        print(json.dumps({"len": len(ds), "pad": last["action_is_pad"].tolist(),
            "action": first["action"].tolist(), "task": first["task"],
            "front": first["observation.images.front"].mul(255).round().int().tolist(),
            "stats": {k: ds.meta.stats["action"][k].tolist() for k in ("mean", "q99")}}))
        """
    )
    (tmp_path / "load.py").write_text(script)
    out = subprocess.run(
        [LEROBOT_PYTHON, str(tmp_path / "load.py"), str(source.root), str(source.info["fps"])],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    data = source.load([0], ["front"])[0]
    assert got["len"] == source.info["total_frames"] and got["pad"] == [False, True, True, True]
    assert got["task"] == source.records[0]["instruction"]
    np.testing.assert_allclose(got["action"], data["action"][:4], rtol=1e-6)
    from vla.datasets.episode_io import decode_png

    front = decode_png(data["images"]["front"][0])
    np.testing.assert_array_equal(np.asarray(got["front"]).transpose(1, 2, 0), front)
    ours = json.loads((source.root / v3.STATS).read_text())["action"]
    for key, value in got["stats"].items():
        np.testing.assert_allclose(value, ours[key], rtol=1e-6)


@needs_lerobot
def test_a_dataset_written_by_lerobots_own_writer_trains_with_vla_train(packed, tmp_path):
    """LeRobotDataset.create / add_frame / save_episode / finalize, with our ur5e episodes as
    the frames, then `vla train` on it through a manifest entry."""
    _, dst, items = packed
    arrays = tmp_path / "episodes.npz"
    mine = [(r, f) for r, f in items if r["robot"] == "ur5e"][:3]
    from vla.datasets.episode_io import decode_png

    np.savez(
        arrays,
        **{
            f"{k}_{i}": v
            for i, (_, f) in enumerate(mine)
            for k, v in (
                ("image", np.stack([decode_png(b) for b in f["images"]["front"]])),
                ("state", f["state"]),
                ("action", f["action"]),
            )
        },
        tasks=np.array([r["instruction"] for r, _ in mine]),
    )
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        from lerobot.datasets.lerobot_dataset import LeRobotDataset
        data = np.load(sys.argv[2])
        dim = data["action_0"].shape[1]
        names = [f"joint_{i}" for i in range(dim - 1)] + ["gripper"]
        features = {
            "observation.images.top": {"dtype": "image", "shape": (32, 32, 3),
                                       "names": ["height", "width", "channels"]},
            "observation.state": {"dtype": "float32", "shape": (dim,), "names": names},
            "action": {"dtype": "float32", "shape": (dim,), "names": names},
        }
        ds = LeRobotDataset.create("local/theirs", fps=10, features=features, root=sys.argv[1],
                                   robot_type="ur5e_follower", use_videos=False)
        for i, task in enumerate(data["tasks"]):
            for t in range(len(data[f"action_{i}"])):
                ds.add_frame({"observation.images.top": data[f"image_{i}"][t],
                              "observation.state": data[f"state_{i}"][t],
                              "action": data[f"action_{i}"][t], "task": str(task)})
            ds.save_episode()
        ds.finalize()
        """
    )
    (tmp_path / "write.py").write_text(script)
    theirs = tmp_path / "theirs"
    out = subprocess.run(
        [LEROBOT_PYTHON, str(tmp_path / "write.py"), str(theirs), str(arrays)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    entry = {"path": str(theirs), "cameras": {"front": "observation.images.top"}}
    manifest = write_manifest(tmp_path / "mix.json", [entry])
    ds = EpisodeDataset(manifest, horizon=4, split="all", cameras=["front"])
    assert ds.robots == ["ur5e_follower"] and len(ds) == sum(len(f["action"]) for _, f in mine)
    first = ds[0]
    np.testing.assert_allclose(first["actions"][0].numpy()[:7], mine[0][1]["action"][0])
    run = train_tiny(manifest, tmp_path / "run")
    assert run.returncode == 0, run.stderr[-3000:]
    assert_trained_for(tmp_path / "run", "ur5e_follower", 7, 7)
