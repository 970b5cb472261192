"""One definition per setting: every command's defaults come from its dataclass through Hydra's
ConfigStore (vla/commands/config_store.py), the YAML files in configs/ hold only what a command or a
choice changes, and a recipe (configs/recipe/) is one file that both `vla collect` and
`vla train` read."""

import dataclasses
from importlib import resources

import pytest
import yaml
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from vla import suites
from vla.cli import COMMANDS, PLAIN_COMMANDS, config_groups
from vla.commands.config_store import (
    NESTED,
    TRAINING_PARTS,
    build,
    command_configs,
    field_defaults,
    register,
    train_defaults,
)
from vla.datasets.collect import CollectConfig
from vla.evaluation.evaluate import EvalConfig
from vla.policies.configuration import PolicyConfig
from vla.training.config import TrainConfig

FOLDER = resources.files("vla.configs")


def composed(name: str, *overrides: str) -> dict:
    register()
    with initialize_config_module("vla.configs", version_base=None):
        return OmegaConf.to_container(compose(config_name=name, overrides=list(overrides)))


def own(path) -> tuple[list, dict]:
    """A YAML file's defaults list and the keys it writes itself."""
    data = yaml.safe_load(path.read_text()) or {}
    return data.pop("defaults", []), data


def same_leaves(inherited: dict, written: dict, prefix: str = "") -> list[str]:
    """The dotted keys of `written` whose value `inherited` already has."""
    out = []
    for key, value in written.items():
        if isinstance(value, dict) and isinstance(inherited.get(key), dict):
            out += same_leaves(inherited[key], value, f"{prefix}{key}.")
        elif key in inherited and inherited[key] == value:
            out.append(prefix + key)
    return out


def cli_keys(cls) -> set[str]:
    """The top-level keys a dataclass's fields have on the command line."""
    return {NESTED[f.name][0] if f.name in NESTED else f.name for f in dataclasses.fields(cls)}


def test_every_hydra_command_has_a_dataclass():
    assert set(command_configs()) | {"train"} == set(COMMANDS) - PLAIN_COMMANDS


@pytest.mark.parametrize("command", sorted(command_configs()))
def test_a_command_yaml_repeats_no_default_of_its_dataclass(command):
    """configs/<command>.yaml writes only the fields its dataclass leaves without a default;
    composed, the command holds every field, each default as the dataclass has it, and nothing
    else (besides its config groups)."""
    cls = command_configs()[command]
    defaults = field_defaults(cls)
    _, written = own(FOLDER / f"{command}.yaml")
    restated = sorted(set(written) & set(defaults))
    assert not restated, f"configs/{command}.yaml restates {restated}: they are {cls.__name__}'s"
    cfg = composed(command)
    fields = cli_keys(cls) - {f.name for f in dataclasses.fields(cls) if not f.init}
    assert fields <= set(cfg) and set(cfg) - fields <= {"backbone"}, set(cfg) ^ fields
    for key, value in defaults.items():
        assert cfg[key] == value, (command, key)
    build(cls, cfg, ignore=("backbone",))  # the command's own config is a valid one


def test_train_defaults_are_train_configs():
    """`train/base` is TrainConfig's defaults; train=default adds nothing, and train.yaml writes
    only what TrainConfig leaves without a default (dataset, output)."""
    cfg = composed("train")
    assert cfg["train"] == train_defaults() == field_defaults(TrainConfig)
    required = {f.name for f in dataclasses.fields(TrainConfig)} - set(field_defaults(TrainConfig))
    assert set(own(FOLDER / "train.yaml")[1]) == required == {"dataset", "output"}
    assert own(FOLDER / "train" / "default.yaml")[1] == {}
    TrainConfig(dataset=cfg["dataset"], output=cfg["output"], **cfg["train"])


@pytest.mark.parametrize("choice", config_groups()["train"])
def test_train_choices_hold_only_what_they_change(choice):
    defaults, written = own(FOLDER / "train" / f"{choice}.yaml")
    parent = [d for d in defaults if d != "_self_"]
    assert len(parent) == 1, (choice, parent)
    inherited = (
        train_defaults()
        if parent[0] == "base"
        else composed("train", f"train={parent[0]}")["train"]
    )
    assert set(written) <= set(inherited), f"train/{choice}.yaml: not TrainConfig fields"
    restated = {k: v for k, v in written.items() if inherited[k] == v}
    assert not restated, f"configs/train/{choice}.yaml restates {restated}"


# recipe -> what `vla train` and `vla collect` were told before the recipe said it (the
# commands in the checkpoints' TRAINED_BY.json and docs/results.md)
RECIPES = {
    "chunk_cpu": (
        ["policy=chunk_cpu", "train=cpu", "backbone.num_layers=2"],
        ["control=ee_pose", "after_success=8", "image_size=64"],
    ),
    "chunk_cpu_4x4": (
        ["policy=chunk_cpu_4x4", "train=cpu_4x4", "backbone.num_layers=2"],
        ["control=ee_pose", "after_success=8", "image_size=64"],
    ),
    "chunk_cpu_metaworld": (
        ["policy=chunk_cpu_metaworld", "train=cpu_metaworld", "backbone.num_layers=2"],
        ["suite=metaworld", "tasks=[mt10]", "image_size=64", "after_success=8"],
    ),
    "general": (
        ["policy=general", "train=general", "backbone.num_layers=2"],
        [
            "control=task_space",
            "after_success=8",
            "action_noise=0.005",
            "image_size=64",
            "instruction_set=train_wide",
        ],
    ),
}


def test_every_recipe_is_checked():
    assert set(config_groups()["recipe"]) == {*RECIPES, "default"}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_a_recipe_composes_for_collect_and_train(recipe):
    """`vla train recipe=X` trains what the spelled-out command trained (policy, training
    settings, 2 backbone layers) and `vla collect recipe=X` collects what it collected, both
    from the one file."""
    train_args, collect_args = RECIPES[recipe]
    trained = composed("train", f"recipe={recipe}")
    spelled = composed("train", *train_args)
    for part in TRAINING_PARTS:
        assert trained[part] == spelled[part], (recipe, part)
    assert trained["backbone"]["num_layers"] == 2
    TrainConfig(dataset=trained["dataset"], output=trained["output"], **trained["train"])

    collected = composed("collect", f"recipe={recipe}")
    assert build(CollectConfig, collected, ignore=TRAINING_PARTS) == build(
        CollectConfig, composed("collect", *collect_args)
    )
    # nothing a recipe writes goes unread: each key is collect's or train's
    defaults, written = own(FOLDER / "recipe" / f"{recipe}.yaml")
    collect_fields = {f.name for f in dataclasses.fields(CollectConfig)}
    assert set(trained) - {"dataset", "output", *TRAINING_PARTS} <= collect_fields
    assert set(written) <= collect_fields | set(TRAINING_PARTS)
    # and none restates what collect and train, or the recipe it builds on, already have
    parents = [f"recipe={d}" for d in defaults if isinstance(d, str) and d != "_self_"]
    inherited = composed("train", *parents) | composed("collect", *parents)
    restated = same_leaves(inherited, written)
    assert not restated, f"configs/recipe/{recipe}.yaml restates {restated}"


def test_the_general_recipe_fits_nothing_to_a_scene_and_is_one_file_for_every_suite():
    """No localizer (pixel labels, a camera's plane), no anchors (a sub-goal order in the
    head), no sentence read as a training task; its training labels are the world positions
    every suite records (the world part).
    Collecting it on each suite differs only in the suite (and so its tasks and control)."""
    parts = PolicyConfig(**composed("train", "recipe=general")["policy"]).parts
    assert parts["localizer"] is None and parts["anchors"] is None and parts["world"]
    # nor a sentence read as one of the training tasks: the tabletop's tasks are colour-blind
    # (reach/lift/place/push), so such a reader would drop which cube the sentence names
    assert parts["sentence"].readout not in ("tasks", "nearest_task"), parts["sentence"]
    # its image features start from ImageNet, frozen (rows 66-67), not from the scene alone
    assert parts["images"].trunk == "efficientnet_lite0" and parts["images"].encoder == "conv"
    # a coarse grid beside the keypoints: 22 backbone tokens, not 46, for the MT10 success (row 76)
    assert parts["images"].patch_size == 32
    collected = {
        suite: build(CollectConfig, composed("collect", "recipe=general", f"suite={suite}", *tasks),
                     ignore=TRAINING_PARTS)
        for suite, tasks in (("tabletop", []), ("metaworld", ["tasks=[mt10]"]))
    }  # fmt: skip
    differ = {
        f.name
        for f in dataclasses.fields(CollectConfig)
        if getattr(collected["tabletop"], f.name) != getattr(collected["metaworld"], f.name)
    }
    assert differ <= {"suite", "tasks", "robots", "control"}, differ
    # each suite's end-effector control (rows 63-64: ee_pose beat the tabletop's joints)
    assert collected["tabletop"].control == "ee_pose"
    assert collected["metaworld"].control == "ee_delta"
    # demonstrations with DART noise on both suites (rows 70-71)
    assert collected["tabletop"].action_noise == collected["metaworld"].action_noise == 0.005
    # five more training phrasings per task on both suites (row 75)
    assert collected["tabletop"].instruction_set == collected["metaworld"].instruction_set
    assert collected["metaworld"].instruction_set == "train_wide"


def test_the_command_line_wins_over_a_recipe():
    cfg = composed("train", "recipe=chunk_cpu", "backbone.num_layers=4", "policy=chunk")
    assert cfg["backbone"]["num_layers"] == 4 and cfg["policy"] == composed("train")["policy"]
    assert composed("train", "recipe=chunk_cpu", "train=default")["train"] == train_defaults()
    assert composed("collect", "recipe=chunk_cpu", "image_size=128")["image_size"] == 128


def test_the_default_recipe_is_the_plain_defaults():
    plain = composed("train")
    assert plain == composed("train", "recipe=default")
    assert plain["backbone"]["num_layers"] is None  # every layer
    assert composed("train", "policy=chunk", "train=default") == plain


def test_build_refuses_a_key_it_would_not_read():
    cfg = composed("collect", "recipe=chunk_cpu")
    with pytest.raises(ValueError, match="has no setting 'backbone'"):
        build(CollectConfig, cfg)  # without ignore: the recipe's training part is not collect's
    with pytest.raises(ValueError, match="Did you mean 'after_success'"):
        build(CollectConfig, {**composed("collect"), "after_succes": 8})


# the suite/cell/episode checks `vla collect` and `vla eval` share (vla.suites.checked_cells)
BAD = [
    (dict(suite="tabletopp"), "Unknown suite 'tabletopp'. Did you mean 'tabletop'"),
    (dict(robots=["pandaa"]), "Unknown robot 'pandaa'. Did you mean 'panda'"),
    (dict(tasks=["lfit"]), "Unknown task 'lfit'. Did you mean 'lift'"),
    (dict(suite="metaworld", tasks=["mt11"]), "Unknown task 'mt11'. Did you mean 'mt10'"),
    (dict(episodes=0), "episodes and workers must be at least 1"),
    (dict(workers=0), "episodes and workers must be at least 1"),
]


@pytest.mark.parametrize("bad, message", BAD)
def test_collect_and_eval_refuse_bad_cells_with_one_message(bad, message):
    args = dict(suite="tabletop", robots=None, tasks=["reach"], episodes=1, workers=1) | bad
    with pytest.raises(ValueError) as shared:
        suites.checked_cells(**args)
    assert str(shared.value).startswith(message), str(shared.value)
    for make in (
        lambda: CollectConfig(output="x", **args),
        lambda: EvalConfig(policy_path="expert", **args),
    ):
        with pytest.raises(ValueError) as e:
            make()
        assert str(e.value) == str(shared.value)


def test_cells_are_read_the_same_by_collect_and_eval():
    args = dict(suite="metaworld", robots=None, tasks="mt10", episodes=1, workers=1)
    suite, robots, tasks = suites.checked_cells(**args)
    assert suite.name == "metaworld" and robots == list(suite.robots) and len(tasks) == 10
    for cfg in (CollectConfig(output="x", **args), EvalConfig(policy_path="expert", **args)):
        assert (cfg.robots, cfg.tasks) == (robots, tasks)
    one = CollectConfig(robots="panda", tasks=["lift"], episodes=1, output="x")
    assert one.robots == ["panda"]
