"""The main job: ``python -m jaxloss.demo --quick`` runs end to end and writes its figure."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_quick_run_writes_figure_and_table(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "jaxloss.demo", "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "balanced accuracy" in result.stdout and "recall@1" in result.stdout
    assert (tmp_path / "jaxloss_demo.png").stat().st_size > 10_000


def test_demo_explains_a_missing_extra(monkeypatch, capsys):
    import jaxloss.demo as demo

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(SystemExit):
        demo._require()
    assert 'pip install -e ".[demo]"' in capsys.readouterr().err
