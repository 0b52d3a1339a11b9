"""Cost of the near-duplicate sketch: signatures per second for 3 KB texts, and
the bytes it stores per article.

    python bench/similarity_speed.py [--texts 2000]
    python bench/similarity_speed.py --database-url postgresql+psycopg://...   # also measure on PostgreSQL

The texts are 3,000-byte windows of the extraction-benchmark article bodies.
With --database-url the signatures and band rows go into TEMPORARY tables
shaped like the store's (gone at disconnect) and their on-disk size is read back.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))   # run from a checkout without installing

from newsmon.analysis.similarity import BANDS, NUM_PERM, band_keys, signature, to_bytes  # noqa: E402

CORPUS = ROOT.parent / "shared/corpora/extraction-benchmark/ground-truth.json"
TEXT_BYTES = 3000


def three_kilobyte_texts(count: int) -> list[str]:
    bodies = json.loads(CORPUS.read_text(encoding="utf-8")).values()
    whole = "\n\n".join(entry["articleBody"] for entry in bodies).encode()
    step = max(1, (len(whole) - TEXT_BYTES) // count)
    return [whole[i * step : i * step + TEXT_BYTES].decode(errors="ignore") for i in range(count)]


def per_second(function, texts: list) -> float:
    started = time.perf_counter()
    for text in texts:
        function(text)
    return len(texts) / (time.perf_counter() - started)


def measure_speed(texts: list[str]) -> list:
    signatures = [signature(text) for text in texts]   # warm-up, and the input of band_keys
    print(f"signature():  {per_second(signature, texts):7.0f} /s  (one core, {TEXT_BYTES}-byte texts)")
    print(f"band_keys():  {per_second(band_keys, signatures):7.0f} /s")
    both = per_second(lambda text: band_keys(signature(text)), texts)
    print(f"both:         {both:7.0f} /s  = {1000 / both:.2f} ms per article")
    return signatures


def print_row_arithmetic() -> None:
    # PostgreSQL heap row: 24-byte header + smallint, bigint, bigint aligned to 24 + 4-byte line pointer;
    # btree entry on (band, band_hash): 8-byte header + 16 + 4-byte line pointer.
    heap, index = 24 + 24 + 4, 8 + 16 + 4
    print(f"signature:    {4 * NUM_PERM} bytes ({NUM_PERM} x uint32)")
    print(f"band table:   {BANDS} rows per article, ~{BANDS * (heap + index)} bytes with its index "
          f"({heap} heap + {index} index per row, before page fill)")


def measure_on_postgresql(url: str, signatures: list) -> None:
    from sqlalchemy import create_engine, text

    with create_engine(url).connect() as connection:
        connection.execute(text(
            "CREATE TEMPORARY TABLE article_signatures (article_id BIGINT PRIMARY KEY, signature BYTEA NOT NULL)"))
        connection.execute(text(
            "CREATE TEMPORARY TABLE article_bands (band SMALLINT NOT NULL, band_hash BIGINT NOT NULL, "
            "article_id BIGINT NOT NULL)"))
        connection.execute(text("CREATE INDEX ON article_bands (band, band_hash)"))
        connection.execute(
            text("INSERT INTO article_signatures VALUES (:id, :signature)"),
            [{"id": i, "signature": to_bytes(sig)} for i, sig in enumerate(signatures)])
        connection.execute(
            text("INSERT INTO article_bands VALUES (:band, :hash, :id)"),
            [{"band": band, "hash": value, "id": i}
             for i, sig in enumerate(signatures) for band, value in band_keys(sig)])
        sizes = connection.execute(text(
            "SELECT pg_total_relation_size('article_signatures'), pg_relation_size('article_bands'), "
            "pg_indexes_size('article_bands')")).one()
    count = len(signatures)
    print(f"PostgreSQL, {count} articles: signatures {sizes[0] / count:.0f} B/article (table + primary key), "
          f"bands {sizes[1] / count:.0f} B/article + index {sizes[2] / count:.0f} B/article")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--database-url", help="a PostgreSQL SQLAlchemy URL to measure the stored size on")
    args = parser.parse_args()
    signatures = measure_speed(three_kilobyte_texts(args.texts))
    print_row_arithmetic()
    if args.database_url:
        measure_on_postgresql(args.database_url, signatures)


if __name__ == "__main__":
    main()
