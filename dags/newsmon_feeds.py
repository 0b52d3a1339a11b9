"""### newsmon_feeds
Every 15 minutes: poll the RSS/Atom feeds that are due (each feed's next poll time
adapts to how often it publishes), one mapped task per feed. Produces `newsmon://articles`,
which schedules `newsmon_alerts`.
"""
from datetime import timedelta

from airflow.sdk import dag, task

from newsmon_common import ARTICLES, COMMON_DAG_ARGS, HTTP_POOL, newsmon_database_url


@dag(dag_id="newsmon_feeds", schedule=timedelta(minutes=15), tags=["newsmon", "ingest", "feeds"],
     doc_md=__doc__, **COMMON_DAG_ARGS)
def newsmon_feeds():
    @task
    def due_feeds() -> list[str]:
        from newsmon.orchestrator import due_source_names

        return due_source_names("rss", database_url=newsmon_database_url())

    @task(pool=HTTP_POOL, outlets=[ARTICLES], map_index_template="{{ task.op_kwargs['name'] }}")
    def poll_feed(name: str) -> dict:
        from newsmon.orchestrator import poll_feed as poll

        return poll(name, database_url=newsmon_database_url())

    poll_feed.expand(name=due_feeds())


newsmon_feeds()
