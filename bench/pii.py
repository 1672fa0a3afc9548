"""PII detection speed: rows per second of ``find_pii`` and ``redact`` on BANKING77 texts.

Samples of 10,000 rows (the first of the official training set): as written (BANKING77 holds
almost no personal data: the fast path, a few string scans per text), with an amount and an
order number in every row (digits that reach no phone pass), with a phone-like number in every
row (every text reaches every pass of libphonenumber), and with one finding of a kind in
every row, kinds in turn (the slow path throughout). Each figure is the best of ``--repeats``
passes, one core (``OMP_NUM_THREADS=1`` does not matter here: pure Python).

    python bench/pii.py
    python bench/pii.py --rows 2000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_table, read_split  # noqa: E402

from tuneforge.data.pii import count_pii, find_pii, redact  # noqa: E402

FINDINGS = [
    "write to jane.doe@example.com",
    "my card 4111 1111 1111 1111",
    "IBAN GB82 WEST 1234 5698 7654 32",
    "call +44 20 7946 0958",
    "from 192.168.10.254",
    "see https://bank.example/help",
]


def _rows_per_second(fn, texts: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for text in texts:
            fn(text)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    texts = read_split("banking77", "train")[0][: args.rows]
    samples = {
        "as written": texts,
        "an amount and an order number in every row": [
            f"{t} order 88213409 of £1,250.00" for t in texts
        ],
        "a phone-like number in every row": [f"{t} ref 0123 456 789" for t in texts],
        "a finding in every row": [
            f"{t} {FINDINGS[i % len(FINDINGS)]}" for i, t in enumerate(texts)
        ],
    }
    results, rows = {}, []
    for name, sample in samples.items():
        found = _rows_per_second(find_pii, sample, args.repeats)
        redacted = _rows_per_second(redact, sample, args.repeats)
        results[name] = {"find_rows_s": round(found), "redact_rows_s": round(redacted)}
        results[name]["rows_with_pii"] = count_pii(sample)
        rows.append([name, f"{found:,.0f}", f"{redacted:,.0f}", json.dumps(count_pii(sample))])
    print_table(["sample", "find rows/s", "redact rows/s", "rows with each kind"], rows)
    print(json.dumps({"rows": len(texts), **results}))
    return results


if __name__ == "__main__":
    main()
