"""`vla` as a user runs it: subprocess calls with tiny settings, and clear errors on typos."""

import json
import subprocess

import pytest

from vla.cli import config_groups
from vla.commands.config_store import policy_defaults, register
from vla.datasets import meta


def run(vla_exe, *args, timeout=300):
    return subprocess.run([vla_exe, *args], capture_output=True, text=True, timeout=timeout)


def test_help_lists_commands(vla_exe):
    out = run(vla_exe, "--help")
    assert out.returncode == 0 and "info" in out.stdout


def test_info_without_backbone_lists_versions(vla_exe):
    out = run(vla_exe, "info", "load_backbone=false")
    assert out.returncode == 0, out.stderr
    assert "torch" in out.stdout and "mujoco" in out.stdout and "device" in out.stdout
    assert "suite metaworld: robots metaworld_sawyer; 50 tasks; groups mt10" in out.stdout
    assert "vla/MetaWorld-pick-place-v0" in out.stdout


def test_info_shows_the_backbone_as_loaded(capsys):
    from vla.cli import main  # in this process: the tests above run the script itself

    assert main(["info", "max_new_tokens=8"]) == 0
    out = capsys.readouterr().out
    assert "hidden size 576, 30 layers" in out
    assert "answer" in out


def test_a_mistyped_command_answers_through_the_console_script(vla_exe):
    out = run(vla_exe, "inof")
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Did you mean 'info'" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "args, expected",
    [
        (["info", "backbone=smollm2-135"], "Did you mean 'smollm2-135m'"),
        (["info", "backbone.nmae=x"], "Did you mean 'name'"),
        (["info", "promt=hi"], "Did you mean 'prompt'"),
        (["info", "backbone.dtype=int3"], "float32"),
        # a part's option the config does not list: how to add it, not an empty list of choices
        (["train", "policy.parts.sentence.init=random"], "sentence sets no keys here. (Use +"),
    ],
)
def test_typos_answer_with_the_valid_choices(args, expected, capsys):
    """In this process (vla.cli.main, what the console script calls): a subprocess per typo
    cost ~2.6 s of interpreter start and imports each."""
    from vla.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err, err


def test_a_key_that_only_the_named_recipe_sets_is_known():
    """policy.parts.sentence.readout exists once recipe=general is composed, not in train's
    own defaults: the check composes the group choices the command line names."""
    from vla.cli import check_overrides

    check_overrides("train", ["recipe=general", "policy.parts.sentence.readout=tokens"])
    with pytest.raises(ValueError, match="sets no keys here"):
        check_overrides("train", ["policy.parts.sentence.readout=tokens"])
    with pytest.raises(ValueError, match="Did you mean 'readout'"):
        check_overrides("train", ["recipe=general", "policy.parts.sentence.redout=tokens"])


# Long (~50 s on 2 cores: collect, train and two evaluations, each with its own Ray): CI's slow
# step runs it. Its parts are covered fast: collection by tests/test_datasets.py, the recipe by
# tests/test_configs.py and the recipe tests here, training by tests/test_training.py, the eval
# report by tests/test_eval.py; only vla demo's fallback chain is this test's alone.
@pytest.mark.slow
def test_demo_runs_end_to_end_without_a_shipped_checkpoint(vla_exe, tmp_path):
    out = run(
        vla_exe,
        "demo",
        "load_backbone=false",
        f"checkpoint={tmp_path / 'none'}",
        f"output={tmp_path}",
        "robots=[sawyer,ur5e]",
        "tasks=[reach]",
        "image_size=32",
        "collect_episodes=2",
        "train_steps=2",
        "train_batch_size=4",
        "num_layers=1",
        "eval_episodes=1",
        "expert_episodes=1",
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "collecting 2 expert episodes" in out.stdout and "results:" in out.stdout
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert {c["robot"] for c in results["cells"]} == {"sawyer", "ur5e"}
    assert (tmp_path / "eval" / "chart.png").is_file() and list(
        (tmp_path / "eval" / "videos").glob("*.mp4")
    )
    expert = json.loads((tmp_path / "eval_expert" / "results.json").read_text())
    assert expert["conditions"]["train"]["mean_success"] == 1.0
    sources = meta.open_sources(tmp_path / "dataset")
    # collected as recipe=chunk_cpu says (TCP pose targets), at the demo's own image size
    assert {s.embodiment.action_mode for s in sources} == {"ee_pose"}
    assert {s.image_shape("front")[0] for s in sources} == {32}


def test_the_cpu_recipes_data_has_one_definition():
    """`vla collect recipe=chunk_cpu` is the data the chunk_cpu recipe trains on, and a
    command-line value still wins over it."""
    from hydra import compose, initialize_config_module

    register()
    with initialize_config_module("vla.configs", version_base=None):
        plain = compose(config_name="collect")
        recipe = compose(config_name="collect", overrides=["recipe=chunk_cpu"])
        mine = compose(config_name="collect", overrides=["recipe=chunk_cpu", "image_size=128"])
    # no control given: the suite's first (the tabletop's joint targets)
    assert (plain.control, plain.after_success, plain.image_size) == (None, 0, 128)
    from vla.commands.config_store import TRAINING_PARTS, build
    from vla.datasets.collect import CollectConfig

    assert build(CollectConfig, plain).control == "joint"
    assert (recipe.control, recipe.after_success, recipe.image_size) == ("ee_pose", 8, 64)
    assert (mine.control, mine.image_size) == ("ee_pose", 128)
    assert "recipe" not in recipe  # its keys land on collect's own and on what train reads
    assert set(recipe) - set(plain) == set(TRAINING_PARTS)  # (vla collect leaves those alone)


def test_checkpoints_and_the_demo_name_a_recipe_instead_of_spelling_it_out(repo_root):
    """make checkpoint, make checkpoint-4x4 and vla demo's fallback collect and train with
    `recipe=` (configs/recipe/): no collection setting, policy, training choice or backbone
    layer count of theirs is written anywhere else."""
    from vla.commands.demo import DemoConfig

    lines = (repo_root / "Makefile").read_text().splitlines()
    cells = {line.split(":=")[0].strip(): line for line in lines if "CELLS :=" in line}
    assert "recipe=chunk_cpu " in cells["CKPT_CELLS"]
    assert "recipe=chunk_cpu_4x4 " in cells["GRID_CELLS"]
    trains = [line for line in lines if "bin/vla train" in line]
    assert len(trains) == 2 and all(" recipe=chunk_cpu" in line for line in trains), trains
    spelled = ("policy=", "train=", "num_layers", "after_success=", "control=", "image_size=")
    for line in lines:
        if "bin/vla " in line or "CELLS" in line or "--command" in line:
            assert not any(s in line for s in spelled), line
    text = (repo_root / "vla" / "commands" / "demo.py").read_text()
    for s in ('"policy=', '"train=', '"after_success', '"control='):
        assert s not in text, s
    assert "recipe={cfg.fallback_recipe}" in text
    assert DemoConfig().fallback_recipe in config_groups()["recipe"]


@pytest.mark.parametrize(
    "args, expected",
    [
        # a group whose keys land on collect's own gets past the override check: the error
        # that follows is about the robot, not the recipe
        (["collect", "recipe=chunk_cpu", "robots=[pandaa]"], "Did you mean 'panda'"),
        (["collect", "recipe=chunk_cpuu"], "Did you mean 'chunk_cpu'"),
        (["info", "recipe=chunk_cpu", "load_backbone=false"], "takes no recipe"),
        # the training choices come with a recipe: vla collect does not take them alone
        (["collect", "policy=chunk_cpu"], "takes no policy"),
        (["train", "recipe=chunk_cpu_4x5"], "Did you mean 'chunk_cpu_4x4'"),
    ],
)
def test_the_recipe_group_passes_the_cli_and_a_typo_in_it_does_not(
    args, expected, tmp_path, capsys
):
    """In this process through vla.cli.main (what the console script calls; the script itself
    is run by test_a_mistyped_command_answers_through_the_console_script)."""
    from vla.cli import main

    assert main([*args, f"output={tmp_path}"] if args[0] != "info" else args) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err, err


def test_vla_train_reads_a_recipe(vla_exe):
    """`vla train recipe=X` composes X's policy, training settings and backbone layers (the
    demo checkpoint's recipe: 2 of the backbone's layers, train=cpu's 2400 steps)."""
    out = run(vla_exe, "train", "recipe=chunk_cpu", "--cfg", "job")
    assert out.returncode == 0, out.stderr
    import yaml

    cfg = yaml.safe_load(out.stdout)
    assert cfg["backbone"]["num_layers"] == 2 and cfg["train"]["steps"] == 2400
    assert cfg["policy"]["image_size"] == 64


@pytest.mark.parametrize("choice", config_groups()["policy"])
def test_every_policy_option_can_be_overridden_from_the_command_line(choice):
    """A PolicyConfig field missing from the composed policy is refused as an 'unknown key' by
    `vla train policy.<field>=...` (it happened to policy.target_probe_weight, a flag of the policy before its parts owned them): every choice,
    composed on the `base` node (vla/commands/config_store.py), holds every field, and nothing else."""
    import dataclasses

    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    from vla.policies.configuration import PolicyConfig

    register()
    with initialize_config_module("vla.configs", version_base=None):
        cfg = compose(config_name="train", overrides=[f"policy={choice}"])
    keys = set(OmegaConf.to_container(cfg.policy))
    fields = {f.name for f in dataclasses.fields(PolicyConfig)}
    assert keys == fields - {"backbone", "num_layers", "dtype", "backbone_init"}, keys ^ fields


def test_policy_choices_hold_only_what_they_change():
    """One definition per option: a policy YAML that restates a default (or its parent choice's
    value) would be a second place to change it."""
    from importlib import resources

    import yaml
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    register()
    folder = resources.files("vla.configs") / "policy"
    for choice in config_groups()["policy"]:
        own = yaml.safe_load((folder / f"{choice}.yaml").read_text())
        parent = [d for d in own.pop("defaults") if d != "_self_"]
        assert len(parent) == 1, (choice, parent)
        if parent[0] == "base":
            inherited = policy_defaults()
        else:
            with initialize_config_module("vla.configs", version_base=None):
                cfg = compose(config_name="train", overrides=[f"policy={parent[0]}"])
            inherited = OmegaConf.to_container(cfg.policy)
        restated = {k: v for k, v in own.items() if inherited.get(k) == v}
        assert not restated, f"configs/policy/{choice}.yaml restates {restated}"
