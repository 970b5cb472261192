import pytest

from vla import atomic


def test_directory_appears_only_when_complete(tmp_path):
    target = tmp_path / "out"
    with atomic.directory(target) as tmp:
        (tmp / "a.txt").write_text("1")
        assert not target.exists()
    assert (target / "a.txt").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failed_directory_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic.directory(tmp_path / "out") as tmp:
        (tmp / "a.txt").write_text("1")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_write_bytes_replaces_whole_file(tmp_path):
    path = tmp_path / "f.json"
    atomic.write_json(path, {"a": 1})
    atomic.write_json(path, {"a": 2})
    assert path.read_text().strip().startswith("{") and '"a": 2' in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
