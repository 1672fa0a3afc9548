"""HTML building blocks shared by every report page: the stylesheet, escaping, tables, data URIs.

One place decides how user text is escaped and how numbers and tables look, so the run report,
the tune report and the image grid cannot drift apart. Pure string work: no plotting library,
no torch.
"""

from __future__ import annotations

import base64
import html
import math
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#1f2328;line-height:1.4}h1{font-size:1.5rem}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}th{background:#eef1f5}
td,th{padding:.25rem .6rem;text-align:left;vertical-align:top;border-bottom:1px solid #eaeef2}
tbody tr:nth-child(even){background:#f6f8fa}td.num{text-align:right}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card b{display:block;font-size:1.5rem}
.card{border:1px solid #d0d7de;border-radius:8px;padding:.6rem 1rem;min-width:140px}
.good,.state-succeeded{color:#1a7f37}.bad,.state-failed,.state-interrupted{color:#cf222e}
.state-running,.state-pruned{color:#9a6700}.note,.card small{color:#656d76;font-size:.85rem}
.alert{border:2px solid #cf222e;background:#fff5f5;border-radius:8px;padding:.6rem 1rem}
img{max-width:100%;height:auto}ul.ex{margin:0;padding-left:1.1rem}code{font-size:.85em}
"""


def escape(value: Any) -> str:
    """Escape for HTML text and attributes; "://" becomes "&#58;//" so user text containing a
    URL renders unchanged but the page source holds no http(s) URL (the self-contained check)."""
    return html.escape(str(value)).replace("://", "&#58;//")


class Raw(str):
    """Markup built from escaped parts; ``table`` inserts it as is."""


def num(value: Any, digits: int = 4) -> str:
    """Floats to fixed digits; anything else (int, None, NaN, a stray string) as text."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.{digits}f}"
    return "" if value is None else str(value)


def table(headers: list[str], rows: list[list[Any]], numeric: tuple[int, ...] = ()) -> str:
    """Cells are escaped unless ``Raw``; columns in ``numeric`` are right-aligned."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if i in numeric else ''}>"
            f"{c if isinstance(c, Raw) else escape(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    head = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""  # key/value tables: none
    return f"<table>{head}<tbody>{body}</tbody></table>"


def data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:image/png;base64,...`` URI, so an image lives inside the page."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
