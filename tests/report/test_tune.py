"""The study report: trials, history chart and importances, escaped, in one file."""

from __future__ import annotations

from types import SimpleNamespace

from tuneforge.report import write_tune_report

EVIL = "<script>x</script>"


def _summary(trials: list[dict], best: str | None) -> SimpleNamespace:
    return SimpleNamespace(
        trials=trials,
        study=EVIL,
        best_run_id=best,
        best_value=0.7 if best else None,
        n_complete=sum(t["state"] == "complete" for t in trials),
        n_pruned=sum(t["state"] == "pruned" for t in trials),
        n_failed=0,
    )


def _trial(number: int, state: str, value: float | None) -> dict:
    return {
        "number": number,
        "state": state,
        "value": value,
        "run_id": f"s-t{number}",
        "seconds": 4.2,
        "params": {"train.lr": 1e-3 * (number + 1)},
    }


def test_report_lists_trials_with_charts(tmp_path):
    trials = [_trial(1, "pruned", None), _trial(0, "complete", 0.7)]
    page = write_tune_report(tmp_path / "r.html", _summary(trials, "s-t0"), {"train.lr": 1.0})
    html = page.read_text()
    assert "best trial: run <code>s-t0</code>, validation macro-F1 0.7000" in html
    assert "1 completed, 1 pruned, 0 failed" in html
    assert html.index("<td class=num>0</td>") < html.index("<td class=num>1</td>")  # by number
    assert html.count('src="data:image/png;base64,') == 2  # history and importances
    assert EVIL not in html and "&lt;script&gt;" in html


def test_report_without_completed_trials_says_so(tmp_path):
    html = write_tune_report(tmp_path / "r.html", _summary([], None), EVIL).read_text()
    assert "no completed trial yet" in html and "<p>None.</p>" in html
    assert f"<p class='note'>{EVIL}</p>" not in html and "&lt;script&gt;x" in html
