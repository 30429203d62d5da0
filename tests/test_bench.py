"""The benchmarks' own machinery: the class they grade is the mix they claim."""

import csv
import subprocess
import sys

import pytest

from kit import ROOT
from kit.dev.bench.grading import make_class
from kit.exercises import TOTAL


def test_the_benchmark_class_is_six_correct_three_partial_and_one_hostile_in_ten(tmp_path):
    make_class(tmp_path / "subs", 10)
    subprocess.run(
        [sys.executable, "-m", "kit", "grade", str(tmp_path / "subs"), str(tmp_path / "out")],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        totals = [int(row["total"]) for row in csv.DictReader(f)]
    assert totals[:6] == [TOTAL] * 6
    assert all(0 < t < TOTAL for t in totals[6:9])
    assert totals[9] == 0  # stubs that print a fake score line


def test_a_benchmark_report_says_how_fast_the_machine_ran_python_at_its_start_and_end(monkeypatch):
    """The machine's speed is the best of three CPU timings of the loop: a clock that says 0.5, 0.2
    and 0.9 s gives 0.2 (wall time, the last run or the worst would not)."""
    from kit.dev.bench import speed_line, timing

    ticks = iter([10.0, 10.5, 20.0, 20.2, 30.0, 30.9])
    monkeypatch.setattr(timing.time, "process_time", lambda: next(ticks))
    assert timing.speed() == pytest.approx(0.2)
    assert next(ticks, None) is None
    line = speed_line(0.125, 0.25)
    assert "0.125 s of CPU at the start" in line and "0.250 s at the end" in line
