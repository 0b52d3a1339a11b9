"""### newsmon_sites
Hourly: crawl each due site source with the Scrapy news spider, one mapped task per
source. Each crawl runs in a subprocess (Scrapy's reactor cannot restart in one process).
A crawl that fails fails its task. Produces `newsmon://articles`.

Trigger with `poll: all` to crawl every site now, or `sources: [names]` for those sites now.
"""
from datetime import timedelta

from airflow.sdk import dag, task

from newsmon_common import (ARTICLES, COMMON_DAG_ARGS, HTTP_POOL, newsmon_database_url, raise_for_failures,
                            selection, source_params)


@dag(dag_id="newsmon_sites", schedule=timedelta(hours=1), tags=["newsmon", "ingest", "sites"],
     doc_md=__doc__, params=source_params("sites"), **COMMON_DAG_ARGS)
def newsmon_sites():
    @task
    def due_sites(params: dict | None = None) -> list[str]:
        from newsmon.orchestrator import selected_source_names

        return selection(selected_source_names, kind="site", names=params["sources"],
                         every=params["poll"] == "all", database_url=newsmon_database_url())

    @task(pool=HTTP_POOL, outlets=[ARTICLES], execution_timeout=timedelta(hours=1),
          map_index_template="{{ task.op_kwargs['name'] }}")
    def crawl_site(name: str) -> dict:
        from newsmon.orchestrator import crawl_site as crawl

        return raise_for_failures(crawl(name, database_url=newsmon_database_url()))

    crawl_site.expand(name=due_sites())


newsmon_sites()
