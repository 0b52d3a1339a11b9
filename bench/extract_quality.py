"""Quality and speed of newsmon.analysis.extract against bare trafilatura.extract.

Usage: python bench/extract_quality.py [--rounds N] [--pages]

Runs them on the article-extraction benchmark (../shared/corpora/extraction-benchmark),
scores them with ../shared/tools/extraction_score.py's metric and prints
F1/precision/recall and pages/s (CPU time, best of N rounds, all fed the same
decoded HTML strings, alternating so load from other processes hits both).
--pages also lists the pages where newsmon loses most, for error analysis.
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import statistics
import time
from pathlib import Path

import trafilatura

from newsmon.analysis.extract import extract

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpora" / "extraction-benchmark"


def load_scorer():
    spec = importlib.util.spec_from_file_location("extraction_score", SHARED / "tools" / "extraction_score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score(scorer, truth: dict, predictions: dict) -> tuple[float, float, float, dict]:
    counts = {k: scorer.page_counts(v["articleBody"], predictions.get(k, "")) for k, v in truth.items()}
    precision = statistics.mean(scorer.precision(*c) for c in counts.values() if c[0] + c[1] > 0)
    recall = statistics.mean(scorer.recall(*c) for c in counts.values() if c[0] + c[2] > 0)
    f1 = 2 * precision * recall / (precision + recall)
    return f1, precision, recall, counts


def timed_run(function, pages: dict) -> tuple[dict, float]:
    start = time.process_time()
    predictions = {k: function(html, url) for k, (html, url) in pages.items()}
    return predictions, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", action="store_true")
    args = parser.parse_args()
    scorer = load_scorer()
    truth = json.loads((CORPUS / "ground-truth.json").read_text())
    pages = {k: (gzip.decompress((CORPUS / "html" / f"{k}.html.gz").read_bytes()).decode("utf-8"), v.get("url"))
             for k, v in truth.items()}
    systems = {
        "trafilatura.extract": lambda html, url: trafilatura.extract(html, url=url) or "",
        # its best plain configuration here, for reference (the speed ratio uses the bare call)
        "trafilatura, no comments": lambda html, url: trafilatura.extract(html, url=url, include_comments=False) or "",
        "newsmon.analysis.extract": lambda html, url: extract(html, url).text,
    }
    best = {name: float("inf") for name in systems}
    results = {}
    for _ in range(args.rounds):
        for name, function in systems.items():
            results[name], seconds = timed_run(function, pages)
            best[name] = min(best[name], seconds)
    for name in systems:
        f1, precision, recall, _ = score(scorer, truth, results[name])
        print(f"{name:25s} F1={f1:.4f} precision={precision:.4f} recall={recall:.4f} "
              f"{len(pages) / best[name]:.1f} pages/s")
    print(f"speed ratio newsmon/trafilatura: {best['trafilatura.extract'] / best['newsmon.analysis.extract']:.3f}")
    if args.pages:
        _, _, _, counts = score(scorer, truth, results["newsmon.analysis.extract"])
        worst = sorted(counts, key=lambda k: scorer.precision(*counts[k]) + scorer.recall(*counts[k]))
        for k in worst[:30]:
            precision, recall = scorer.precision(*counts[k]), scorer.recall(*counts[k])
            print(f"{k[:12]} P={precision:.2f} R={recall:.2f} {truth[k].get('url')}")


if __name__ == "__main__":
    main()
