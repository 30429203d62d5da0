"""The hash that says which kit graded: it follows the kit's code and nothing else."""

import shutil

from kit import ROOT, version


def copy_of_the_kit(tmp_path):
    for top in version.PARTS:
        shutil.copytree(ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_hash_changes_with_one_byte_of_a_check_and_with_a_moved_file(tmp_path, monkeypatch):
    monkeypatch.setattr(version, "ROOT", copy_of_the_kit(tmp_path))
    first = version.code_hash()
    assert first == version.code_hash() and len(first) == 64
    plugin = tmp_path / "checks" / "plugin.py"
    plugin.write_bytes(plugin.read_bytes() + b"\n")
    edited = version.code_hash()
    assert edited != first
    (tmp_path / "checks" / "report.py").rename(tmp_path / "checks" / "report2.py")
    assert version.code_hash() != edited


def test_the_hash_ignores_bytecode_and_files_that_are_not_the_kit_s_source(tmp_path, monkeypatch):
    monkeypatch.setattr(version, "ROOT", copy_of_the_kit(tmp_path))
    first = version.code_hash()
    (tmp_path / "kit" / "__pycache__").mkdir(exist_ok=True)
    (tmp_path / "kit" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"\0")
    (tmp_path / "kit" / "notes.txt").write_text("scratch\n")
    assert version.code_hash() == first


def test_the_hash_covers_pytest_s_settings_for_the_checks(tmp_path, monkeypatch):
    monkeypatch.setattr(version, "ROOT", copy_of_the_kit(tmp_path))
    first = version.code_hash()
    ini = tmp_path / "checks" / "pytest.ini"
    ini.write_text(ini.read_text() + "\n")
    assert version.code_hash() != first


def test_a_cluster_worker_whose_kit_hashes_differently_is_refused():
    """(grades.json stamps the same hash: tests/test_report.py.)"""
    from kit.instructor import cluster

    said = cluster.ready({}, "0" * 64)
    assert said["refused"] == "its kit differs from the grader's (copy the same kit)"
