"""The report's section of a recommend run: the model beside its baselines on the
leave-last-out split, and on the cold-start split beside random."""

from __future__ import annotations

from typing import Any

from .markup import escape, num, table

COLUMNS = ("hr@10", "ndcg@10", "recall@20", "coverage")


def ranking_rows(ev: dict) -> list[list[Any]]:
    """(method, HR@10, NDCG@10, Recall@20, coverage, users) rows: the model, then baselines."""
    rows = [["two-tower", *(ev.get(c) for c in COLUMNS), ev.get("n_users")]]
    for name, figures in (ev.get("baselines") or {}).items():
        rows.append([name, *(figures.get(c) for c in COLUMNS), figures.get("n_users")])
    return rows


def ranking_section(ev: Any) -> str:
    """HTML tables of eval.json's figures ("" for a run that has none)."""
    if not isinstance(ev, dict) or "hr@10" not in ev:
        return "<p class='note'>No ranking evaluation: the run did not reach it.</p>"
    headers = ["method", "HR@10", "NDCG@10", "Recall@20", "coverage", "users"]

    def shown(rows):
        return table(headers, [[r[0], *(num(v) for v in r[1:])] for r in rows], (1, 2, 3, 4, 5))

    out = f"<p>{escape(ev.get('protocol', ''))}</p>" + shown(ranking_rows(ev))
    cold = ev.get("cold_start") or {}
    if "hr@10" in cold:
        out += (
            f"<h3>Cold start: {escape(cold.get('cold_items'))} items without training "
            f"interactions</h3><p>{escape(cold.get('protocol', ''))}</p>"
            + shown(ranking_rows(cold))
        )
    return out
