"""What ``tuneforge federate`` refuses before any process starts (no Flower needed)."""

from __future__ import annotations

from tests.conftest import make_rows, write_csv
from tuneforge.cli import main


def _args(tmp_path, model_dir, *extra):
    a = write_csv(tmp_path / "a.csv", make_rows(3))
    b = write_csv(tmp_path / "b.csv", make_rows(3, seed=1))
    e = write_csv(tmp_path / "e.csv", make_rows(3, seed=2))
    return ["federate", str(a), str(b), "--eval", str(e), "--model", str(model_dir),
            "--runs-dir", str(tmp_path / "runs"), *extra]  # fmt: skip


def test_refusals_come_before_a_run_exists(tmp_path, tiny_model_dir, capsys):
    """FedProx with DP, adalora, one client, a missing file and too many --min-clients are
    usage errors (exit 2, or 1 for the file) naming what to change; no run directory is made."""
    cases = [
        (["--strategy", "fedprox", "--privacy", "dp", "--epsilon", "8"], 2, "fedavg"),
        (["method.name=adalora"], 2, "cannot be federated"),
        (["--min-clients", "3"], 2, "--min-clients must be between 1 and 2"),
        (["--flower-python", str(tmp_path / "nope")], 2, "ensure-flower"),
    ]
    for extra, code, needle in cases:
        assert main(_args(tmp_path, tiny_model_dir, *extra)) == code, extra
        assert needle in capsys.readouterr().err, extra
    one = _args(tmp_path, tiny_model_dir)
    del one[2]
    assert main(one) == 2
    assert "at least 2 client data files" in capsys.readouterr().err
    missing = _args(tmp_path, tiny_model_dir)
    missing[1] = str(tmp_path / "gone.csv")
    assert main(missing) == 1
    assert "gone.csv: no such file" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
