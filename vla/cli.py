"""The `vla` console script: `vla <command> key=value ...`, each command a Hydra app over configs/.

Overrides are checked before Hydra runs, so a typo in a key, a config-group choice or the
command name answers with the valid choices instead of a stack trace.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib import resources

from vla.suggest import did_you_mean, unknown

# command -> (module with `run(cfg) -> int`, one-line help). Later commands register here.
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("vla.commands.info", "versions, device, the backbone as loaded, robots and tasks"),
    "collect": ("vla.commands.collect", "scripted-expert demonstrations with Ray -> a dataset"),
    "dataset": (
        "vla.commands.dataset",
        "`vla dataset check|track|export DIR`: validate, label, or export as LeRobot v3",
    ),
    "train": ("vla.commands.train", "one policy across robots on a dataset"),
    "run": ("vla.commands.run", "one episode from an instruction, with a video"),
    "eval": ("vla.commands.eval", "success rates per robot x task with Ray, and a report"),
    "serve": ("vla.commands.serve", "a policy behind a websocket (openpi's protocol)"),
    "demo": ("vla.commands.demo", "the main job on embedded defaults"),
    "benchmark": (
        "vla.commands.benchmark",
        "`vla benchmark inference|train|rollout|collect|all|report`: speed tables and JSON",
    ),
}
POSITIONAL = {"benchmark": "what"}  # `vla benchmark train` means `vla benchmark what=train`

USER_ERRORS = (ValueError, FileNotFoundError, KeyError, LookupError)
PLAIN_COMMANDS = {"dataset"}  # argparse, not Hydra: they take positional paths


def usage() -> str:
    lines = ["usage: vla <command> [key=value ...] [--cfg job] [--help]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Overrides follow Hydra's grammar, e.g. `vla info backbone.num_layers=8`."]
    return "\n".join(lines)


def config_groups() -> dict[str, list[str]]:
    """Config group -> its option names, read from the packaged configs/ folder."""
    root = resources.files("vla.configs")
    groups = {}
    for entry in root.iterdir():
        if entry.is_dir() and not entry.name.startswith("_"):
            groups[entry.name] = sorted(
                f.name[: -len(".yaml")] for f in entry.iterdir() if f.name.endswith(".yaml")
            )
    return groups


def compose_plain(command: str, overrides: list[str]) -> dict:
    """The command's config with these overrides, as plain containers (interpolations kept)."""
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    with initialize_config_module("vla.configs", version_base=None):
        return OmegaConf.to_container(
            compose(config_name=command, overrides=overrides), resolve=False
        )


def check_overrides(command: str, overrides: list[str]) -> None:
    """Raise ValueError with suggestions for an unknown key or config-group choice."""
    from vla.commands.config_store import register

    register()
    groups = config_groups()
    plain = [i for i in overrides if not i.startswith(("hydra.", "+", "~", "-")) and "=" in i]
    choices = []  # group choices (recipe=general): the keys they bring are known keys
    for item in plain:
        key, value = item.split("=", 1)
        if key not in groups:
            continue
        if value not in groups[key] and "," not in value:
            raise ValueError(unknown(f"{key} choice", value, groups[key]))
        if "," not in value:  # a sweep's list is Hydra's multirun, not one config
            choices.append(item)
    try:
        base = compose_plain(command, choices)
    except Exception:  # Hydra's own: the command's defaults have no such group
        for item in choices:  # compose each alone only now, to name the one at fault
            try:
                compose_plain(command, [item])
            except Exception as e:
                reason = str(e).splitlines()[0] if str(e) else type(e).__name__
                key = item.split("=", 1)[0]
                raise ValueError(f"vla {command} takes no {key}=...: {reason}") from None
        raise
    for item in plain:  # additions, deletions and Hydra's own settings are Hydra's to check
        key, value = item.split("=", 1)
        if key in groups:
            continue
        node, path = base, []
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                where = ".".join(path) or "the top level"
                choices = list(node) if isinstance(node, dict) else []
                # a node the config leaves unset or lists no keys of (options a part takes
                # from its own defaults) has nothing to suggest
                hint = did_you_mean(part, choices) if choices else f" {where} sets no keys here."
                raise ValueError(
                    f"Unknown config key {key!r}: {where} has no {part!r}."
                    f"{hint} (Use +{key}=... to add a new key on purpose.)"
                )
            node, path = node[part], [*path, part]


def run_command(command: str, overrides: list[str]) -> int:
    import hydra

    from vla.commands.config_store import register

    register()  # the dataclasses' defaults the YAMLs build on (vla/commands/config_store.py)
    module = importlib.import_module(COMMANDS[command][0])
    result = {"code": 0}

    @hydra.main(config_path="pkg://vla.configs", config_name=command, version_base=None)
    def app(cfg) -> None:
        try:
            result["code"] = module.run(cfg) or 0
        except USER_ERRORS as e:
            if os.environ.get("VLA_DEBUG"):
                raise
            msg = e.args[0] if isinstance(e, KeyError) and e.args else e
            print(f"vla {command}: error: {msg}", file=sys.stderr)
            result["code"] = 2

    saved = sys.argv
    sys.argv = [f"vla-{command}", *overrides]
    try:
        app()
    finally:
        sys.argv = saved
    return result["code"]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    command, overrides = argv[0], argv[1:]
    if command in POSITIONAL and overrides and "=" not in overrides[0] and overrides[0][0] != "-":
        overrides = [f"{POSITIONAL[command]}={overrides[0]}", *overrides[1:]]
    if command not in COMMANDS:
        print(f"vla: {unknown('command', command, COMMANDS)}\n\n{usage()}", file=sys.stderr)
        return 2
    if command in PLAIN_COMMANDS:
        return importlib.import_module(COMMANDS[command][0]).main(overrides)
    if not any(o.startswith("--") or o.startswith("-m") for o in overrides):
        try:
            check_overrides(command, overrides)
        except ValueError as e:
            print(f"vla {command}: error: {e}", file=sys.stderr)
            return 2
    return run_command(command, overrides)


if __name__ == "__main__":
    sys.exit(main())
