"""The report's cross-validation section: each metric as mean ± standard deviation over the
folds, the figure of every fold, and the fold runs (each with its own report)."""

from __future__ import annotations

from .markup import escape, num, table

_NAMES = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "weighted_f1": "weighted-F1",
    "expected_calibration_error": "calibration error (ECE)",
}


def folds_section(ev: dict) -> str:
    """The section, or "" when eval.json is not a cross-validation's."""
    cv = ev.get("cross_validation") if isinstance(ev.get("cross_validation"), dict) else None
    if not cv or not isinstance(cv.get("metrics"), dict):
        return ""
    runs = [str(r) for r in cv.get("runs") or []]
    k = cv.get("folds", len(runs))
    headers = ["metric", "mean ± std", *[f"fold {i}" for i in range(1, len(runs) + 1)]]
    rows = [
        [
            _NAMES.get(key, key),
            f"{num(m.get('mean'), 4)} ± {num(m.get('std'), 4)}",
            *[num(v, 4) for v in m.get("folds") or []],
        ]
        for key, m in cv["metrics"].items()
        if isinstance(m, dict)
    ]
    return (
        f"<h2>Cross-validation ({escape(k)} stratified folds)</h2><p class='note'>Each fold "
        "trained its own run on the other folds and was tested on itself; the standard "
        "deviation is over folds (ddof=1). The evaluation below pools the out-of-fold "
        f"predictions of every example. Fold runs: {escape(', '.join(runs))}.</p>"
        + table(headers, rows, numeric=tuple(range(1, len(headers))))
    )
