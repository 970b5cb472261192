"""Benchmark results on disk: one JSON per machine, each section with the machine it ran on.

Running one section again replaces that section and keeps the others, so `vla benchmark train`
after `vla benchmark all` updates the training figures only. The file is written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

from vla import atomic

FORMAT = "vla-benchmark"
SECTIONS = ("inference", "train", "rollout", "collect", "eval_memory", "serve")


def read(path) -> dict:
    path = Path(path)
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a `vla benchmark` result (format {data.get('format')!r}); "
            "write one with `vla benchmark all output=PATH`"
        )
    return data


def merge(path, sections: dict, machine: dict) -> dict:
    """The file at path (if any, and from the same machine) with `sections` replaced."""
    path = Path(path)
    data = {"format": FORMAT, "machine": machine, "sections": {}}
    if path.is_file():
        old = read(path)
        same = all(old["machine"].get(k) == machine.get(k) for k in ("cpu", "cores", "gpu"))
        if same:
            data["sections"] = old["sections"]
        else:
            print(f"{path} came from another machine: its other sections are dropped")
    data["sections"].update(sections)
    data["sections"] = {k: data["sections"][k] for k in SECTIONS if k in data["sections"]}
    return data


def write(path, data: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(path, data)
