"""The engine cache: one engine per URL, and an evicted engine is disposed (its pooled connections closed)."""
from __future__ import annotations

from sqlalchemy import event, text

from models.engine import EngineCache


def test_one_engine_per_url_and_the_evicted_one_is_disposed(tmp_path):
    cache = EngineCache(size=2)
    urls = [f"sqlite:///{tmp_path / f'db{n}.sqlite'}" for n in range(3)]
    first = cache.get(urls[0])
    assert cache.get(urls[0]) is first
    with first.connect() as connection:   # leaves a connection in the pool
        connection.execute(text("SELECT 1"))
    assert first.pool.checkedin() == 1
    disposed = []
    event.listen(first, "engine_disposed", disposed.append)
    cache.get(urls[1])
    cache.get(urls[0])                    # used again: urls[1] is now the least recently used
    cache.get(urls[2])
    assert disposed == []
    cache.get(urls[1])                    # back in; makes room by evicting urls[0]
    assert disposed == [first] and first.pool.checkedin() == 0
    again = cache.get(urls[0])
    assert again is not first
    with again.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
