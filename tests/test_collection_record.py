"""A dataset keeps the settings it was collected with; a resumed collection must repeat them,
and a training run hears when its recipe collects otherwise."""

import json

import pytest
from omegaconf import OmegaConf

from tests.conftest import DATASET_ROBOTS, DATASET_TASKS
from vla.datasets import collection_record
from vla.datasets.collect import CollectConfig, collect


def config(root, **changes):
    """The session dataset's collection (tests/conftest.py), with `changes`."""
    settings = dict(robots=DATASET_ROBOTS, tasks=DATASET_TASKS, episodes=10, image_size=32)
    return CollectConfig(output=str(root), progress=False, **{**settings, **changes})


def test_collect_records_its_settings_and_refuses_other_ones_on_resume(dataset):
    root, _ = dataset
    record = json.loads((root / collection_record.FILE).read_text())
    assert record["settings"] == collection_record.settings(config(root))
    assert record["settings"]["control"] == "joint" and record["settings"]["image_size"] == 32
    before = sorted(p.name for p in root.rglob("*"))
    with pytest.raises(ValueError, match=r"expert_blend=0\.0 \(asked 0\.03\).*another output="):
        collect(config(root, expert_blend=0.03))
    with pytest.raises(ValueError, match=r"image_size=32 \(asked 64\)"):
        collect(config(root, image_size=64))
    assert sorted(p.name for p in root.rglob("*")) == before  # nothing touched
    # more episodes, robots or workers are not settings of an episode: the same record passes
    assert collection_record.write_or_check(root, config(root, workers=1), True) == record


def test_episodes_from_before_records_get_none(tmp_path):
    assert collection_record.write_or_check(tmp_path, config(tmp_path), has_episodes=True) is None
    assert not (tmp_path / collection_record.FILE).exists()
    written = collection_record.write_or_check(tmp_path, config(tmp_path), has_episodes=False)
    assert (
        collection_record.read(tmp_path) == written and written["settings"]["suite"] == "tabletop"
    )
    manifest = tmp_path / "manifest.json"  # `vla train dataset=` may name the manifest file
    manifest.write_text("{}")
    assert collection_record.read(manifest) == written


def test_training_hears_when_the_recipe_collects_otherwise(tmp_path):
    cfg = CollectConfig(robots=["ur5e"], tasks=["lift"], episodes=1, output=str(tmp_path),
                        control="ee_pose", after_success=8, image_size=64)  # fmt: skip
    collection_record.write_or_check(tmp_path, cfg, has_episodes=False)
    recipe = {
        "dataset": str(tmp_path),
        "control": "task_space",
        "after_success": 8,
        "image_size": 64,
    }
    # task_space is the tabletop's ee_pose: the same setting
    assert collection_record.recipe_mismatch(tmp_path, OmegaConf.create(recipe)) is None
    other = OmegaConf.create({**recipe, "image_size": 96, "control": "joint"})
    note = collection_record.recipe_mismatch(tmp_path, other)
    assert "control='ee_pose' (asked 'joint')" in note and "image_size=64 (asked 96)" in note
    # a recipe that names no collection settings, or data with no record: nothing to say
    assert collection_record.recipe_mismatch(tmp_path, OmegaConf.create({"dataset": "x"})) is None
    assert collection_record.recipe_mismatch(tmp_path / "none", OmegaConf.create(recipe)) is None


def test_vla_train_prints_the_note_before_it_trains(tmp_path, monkeypatch, capsys):
    from vla.commands import train as train_command

    cfg = CollectConfig(robots=["ur5e"], tasks=["lift"], episodes=1, output=str(tmp_path),
                        control="ee_pose", image_size=64)  # fmt: skip
    collection_record.write_or_check(tmp_path, cfg, has_episodes=False)
    composed = OmegaConf.create(
        {"dataset": str(tmp_path), "output": str(tmp_path / "run"), "control": "joint",
         "train": {}, "policy": {}, "backbone": {"name": "x", "num_layers": 1, "dtype": "float32"}}
    )  # fmt: skip

    def stop(*_):
        raise RuntimeError("trained")

    monkeypatch.setattr(train_command.engines, "run", stop)
    with pytest.raises(RuntimeError, match="trained"):
        train_command.run(composed)
    assert "control='ee_pose' (asked 'joint')" in capsys.readouterr().err


def test_a_setting_newer_than_the_record_counts_as_its_default(tmp_path):
    record = collection_record.write_or_check(tmp_path, config(tmp_path), has_episodes=False)
    del record["settings"]["expert_regrasp"]  # a record written before the setting existed
    (tmp_path / collection_record.FILE).write_text(json.dumps(record))
    assert collection_record.write_or_check(tmp_path, config(tmp_path), True) is not None
    with pytest.raises(ValueError, match=r"expert_regrasp=False \(asked True\)"):
        collection_record.write_or_check(tmp_path, config(tmp_path, expert_regrasp=True), True)
