"""Name -> task. A new task is one module plus one line here."""

from vla.envs.tasks.base import Task
from vla.envs.tasks.lift import Lift
from vla.envs.tasks.place import Place
from vla.envs.tasks.push import Push
from vla.envs.tasks.reach import Reach
from vla.suggest import unknown

TASKS: dict[str, type[Task]] = {t.name: t for t in (Reach, Lift, Place, Push)}


def get(name: str) -> Task:
    if name not in TASKS:
        raise KeyError(unknown("task", name, TASKS))
    return TASKS[name]()
