"""The shared markup: escaping keeps pages free of URLs and scripts; tables escape their cells."""

from __future__ import annotations

import base64

from tuneforge.report.markup import Raw, data_uri, escape, num, table


def test_escape_neutralises_markup_and_urls():
    assert escape("<b>&'\"") == "&lt;b&gt;&amp;&#x27;&quot;"
    assert escape("see https://x.org") == "see https&#58;//x.org"
    assert escape(3) == "3"


def test_num_formats_finite_floats_only():
    assert num(0.5) == "0.5000" and num(0.5, 2) == "0.50"
    assert num(3) == "3" and num(None) == "" and num(float("nan")) == "nan"


def test_table_escapes_cells_unless_raw_and_aligns_numeric_columns():
    html = table(["a", "b"], [["<x>", Raw("<i>y</i>")], [1, 2]], numeric=(1,))
    assert html.startswith("<table><thead><tr><th>a</th><th>b</th></tr></thead>")
    assert "<td>&lt;x&gt;</td><td class=num><i>y</i></td>" in html
    assert "<td>1</td><td class=num>2</td>" in html
    assert "<thead>" not in table(["", ""], [["k", "v"]])  # key/value tables have no header


def test_data_uri_round_trips_the_bytes():
    uri = data_uri(b"\x89PNG")
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == b"\x89PNG"
