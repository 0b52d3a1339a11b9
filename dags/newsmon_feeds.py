"""### newsmon_feeds
Every 5 minutes: poll the RSS/Atom feeds that are due (each feed's next poll time
adapts to how often it publishes, 5 min at the least), in a few mapped tasks that each
poll a batch of feeds concurrently (`NEWSMON_FEED_BATCHES`, default one per core). The
batches succeed and produce `newsmon://articles`, which schedules `newsmon_alerts`; then
each feed that failed fails a `failed_feed` task of its own, named after it: a 404 or
a page that is not a feed at once, 5xx and timeouts after retries that poll it again.

Trigger with `poll: all` to poll every feed now, or `sources: [names]` for those feeds now.
"""
from datetime import timedelta

from airflow.sdk import dag, get_current_context, task

from newsmon_common import (ARTICLES, COMMON_DAG_ARGS, HTTP_POOL, log_outcomes, newsmon_database_url,
                            raise_for_failures, selection, source_params)


@dag(dag_id="newsmon_feeds", schedule=timedelta(minutes=5), tags=["newsmon", "ingest", "feeds"],
     doc_md=__doc__, params=source_params("feeds"), **COMMON_DAG_ARGS)
def newsmon_feeds():
    @task
    def feed_batches(params: dict | None = None) -> list[list[str]]:
        from newsmon.orchestrator import feed_batches as batches

        return selection(batches, names=params["sources"], every=params["poll"] == "all",
                         database_url=newsmon_database_url())

    @task(pool=HTTP_POOL, outlets=[ARTICLES],
          map_index_template="{{ task.op_kwargs['names'] | join(', ') | truncate(100) }}")
    def poll_feeds(names: list[str]) -> dict:
        from newsmon.orchestrator import poll_feed_batch

        return log_outcomes(poll_feed_batch(names, database_url=newsmon_database_url()))

    @task
    def failures(summaries: list[dict]) -> list[dict]:
        from newsmon.orchestrator import failed_sources

        return failed_sources(summaries)

    @task(pool=HTTP_POOL, outlets=[ARTICLES], map_index_template="{{ task.op_kwargs['failure']['source'] }}")
    def failed_feed(failure: dict) -> dict:
        """Fails with the feed's error from its batch; each retry (transient errors) polls it again."""
        from newsmon.orchestrator import failed_feed as outcome

        retry = get_current_context()["ti"].try_number > 1
        return raise_for_failures(outcome(failure, poll_again=retry, database_url=newsmon_database_url()))

    failed_feed.expand(failure=failures(poll_feeds.expand(names=feed_batches())))


newsmon_feeds()
