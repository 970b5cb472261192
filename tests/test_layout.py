"""The layout docs/architecture.md describes: one `vla` namespace over the top-level folders,
never shadowing HuggingFace's `tokenizers`, every source folder listed as a package (a wheel
drops the rest), imports running one way, and no file citing what lies outside the repository."""

import importlib.metadata
import subprocess
import sys
import tomllib

import pytest

from tests.conftest import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
PACKAGE_DIR = PYPROJECT["tool"]["setuptools"]["package-dir"]
PACKAGES = PYPROJECT["tool"]["setuptools"]["packages"]
# no __init__.py in these: see docs/architecture.md
NAMESPACE_FOLDERS = ("vla", "envs", "tokenizers", "policies")


def installed_distribution_names() -> set[str]:
    names = set()
    for dist in importlib.metadata.distributions():
        names.add(dist.metadata["Name"].lower().replace("-", "_"))
        top = dist.read_text("top_level.txt") or ""
        names.update(line.strip().lower() for line in top.splitlines() if line.strip())
    return names


def test_namespace_folders_have_no_init():
    for folder in NAMESPACE_FOLDERS:
        assert not (REPO_ROOT / folder / "__init__.py").exists(), (
            f"{folder}/__init__.py makes {folder} a regular package; see docs/architecture.md"
        )


def test_no_mapped_folder_shadows_an_installed_distribution():
    installed = installed_distribution_names()
    assert "tokenizers" in installed  # the collision this rule exists for
    for folder in set(PACKAGE_DIR.values()):
        if folder.lower() in installed:
            assert not (REPO_ROOT / folder / "__init__.py").exists(), (
                f"{folder}/ would shadow the installed {folder}"
            )


def folder_to_package(rel: str) -> str:
    """Map a repo-relative folder to its import name through package-dir."""
    parts = rel.split("/")
    for pkg, folder in sorted(PACKAGE_DIR.items(), key=lambda kv: -len(kv[1])):
        fparts = folder.split("/")
        if parts[: len(fparts)] == fparts:
            return ".".join([pkg, *parts[len(fparts) :]])
    raise AssertionError(f"{rel} is under no package-dir mapping")


def test_every_source_folder_is_a_listed_package():
    for folder in set(PACKAGE_DIR.values()):
        for path in [
            REPO_ROOT / folder,
            *(p for p in (REPO_ROOT / folder).rglob("*") if p.is_dir()),
        ]:
            if "__pycache__" in path.parts:
                continue
            if any(path.glob("*.py")) or any(path.glob("*.yaml")):
                pkg = folder_to_package(str(path.relative_to(REPO_ROOT)))
                assert pkg in PACKAGES, (
                    f"{path.relative_to(REPO_ROOT)} is not listed as {pkg!r} in pyproject"
                )


@pytest.mark.parametrize(
    "argv",
    [
        ["-c", "import tokenizers, transformers; print(tokenizers.__file__)"],
        ["-m", "tests.print_tokenizers_origin"],
    ],
    ids=["python-c", "python-m"],
)
def test_hf_tokenizers_wins_from_repo_root(argv):
    out = subprocess.run(
        [sys.executable, *argv], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    path = out.stdout.strip().splitlines()[-1]
    assert "site-packages" in path and path.endswith("tokenizers/__init__.py"), path


def test_hf_tokenizers_wins_under_pytest():
    import tokenizers

    assert "site-packages" in tokenizers.__file__
    import vla.tokenizers

    assert str(REPO_ROOT / "tokenizers") in list(vla.tokenizers.__path__)


def test_hf_tokenizers_wins_inside_a_ray_task():
    # Ray workers prepend the driver's cwd to sys.path; run the driver from the repo root.
    code = (
        "import ray\n"
        "ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)\n"
        "@ray.remote\n"
        "def where():\n"
        "    import os, sys, tokenizers, transformers, vla.tokenizers\n"
        "    return tokenizers.__file__, os.getcwd(), list(vla.tokenizers.__path__)\n"
        "print(ray.get(where.remote()))\n"
        "ray.shutdown()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-3000:]
    line = out.stdout.strip().splitlines()[-1]
    assert "site-packages/tokenizers/__init__.py" in line, line
    assert str(REPO_ROOT / "tokenizers") in line, line


def imported_modules(folder: str) -> dict[str, set[str]]:
    """file -> the top two levels of every module it imports (AST, no execution)."""
    import ast

    out = {}
    for path in (REPO_ROOT / folder).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        out[str(path.relative_to(REPO_ROOT))] = {".".join(n.split(".")[:2]) for n in names}
    return out


@pytest.mark.parametrize(
    "folder, forbidden",
    [
        # A trained policy must run where no simulator is installed (see docs/architecture.md).
        ("policies", {"mujoco", "vla.envs", "ray", "gymnasium", "vla.cli", "vla.commands"}),
        ("tokenizers", {"mujoco", "vla.envs", "vla.policies", "ray", "gymnasium", "vla.cli"}),
        # The world knows nothing of who acts in it.
        ("envs", {"vla.policies", "vla.tokenizers", "ray", "vla.cli", "vla.commands"}),
    ],
)
def test_imports_run_the_way_the_design_says(folder, forbidden):
    for path, names in imported_modules(folder).items():
        assert not names & forbidden, f"{path} imports {sorted(names & forbidden)}"


def test_library_code_never_imports_a_command():
    """Commands sit on top of the library (vla/cli.py and vla/commands/ only): a library module
    that imports a command drags a command's imports into every Ray worker that loads it."""
    for path, names in imported_modules("vla").items():
        if path == "vla/cli.py" or path.startswith("vla/commands/"):
            continue
        assert "vla.commands" not in names, f"{path} imports a command module"


# Files that live outside the repository: a citation of one is a dead end for every reader.
# The strings are built so that this file does not cite them itself.
OUTSIDE_REFERENCES = ("DESIGN" + ".md", ".." + "/shared")
SKIPPED_SUFFIXES = (".safetensors", ".png", ".json")


def repository_files() -> list[str]:
    """Tracked files plus untracked ones git does not ignore (a new file counts before its commit)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (FileNotFoundError, subprocess.CalledProcessError) as e:
        pytest.skip(f"not a git checkout, or no git: {e}")
    return sorted(set(out.stdout.splitlines()))


def test_no_file_cites_anything_outside_the_repository():
    offenders = []
    for rel in repository_files():
        path = REPO_ROOT / rel
        if rel.endswith(SKIPPED_SUFFIXES) or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        text = data.decode("utf-8", errors="replace")
        for ref in OUTSIDE_REFERENCES:
            if ref in text:
                line = text[: text.index(ref)].count("\n") + 1
                offenders.append(f"{rel}:{line} mentions {ref!r}")
    assert not offenders, (
        "files cite something outside the repository (cite docs/architecture.md or a file in "
        "the repository instead):\n" + "\n".join(offenders)
    )
