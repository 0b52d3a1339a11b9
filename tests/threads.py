"""Run one callable in several threads at once, for the tests of concurrent writers."""
from __future__ import annotations

import threading
from typing import Any, Callable


def run_at_once(work: Callable[..., Any], arguments: list[tuple]) -> tuple[list[Any], list[Exception]]:
    """Call `work(*args)` for each tuple of `arguments`, each in its own thread, and wait:
    (the results, the exceptions raised), so the test asserts on both."""
    results: list[Any] = []
    errors: list[Exception] = []

    def call(args: tuple) -> None:
        try:
            results.append(work(*args))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=call, args=(args,)) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
