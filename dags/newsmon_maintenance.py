"""### newsmon_maintenance
Daily: re-check the stories of the last days for near-duplicates that arrived out of
order, refresh planner statistics, prune old fetch-log rows.
"""
from datetime import timedelta

from airflow.sdk import dag, task

from newsmon_common import COMMON_DAG_ARGS, newsmon_database_url


@dag(dag_id="newsmon_maintenance", schedule=timedelta(days=1), tags=["newsmon", "maintenance"],
     doc_md=__doc__, **COMMON_DAG_ARGS)
def newsmon_maintenance():
    @task
    def maintenance() -> dict:
        from newsmon.orchestrator import maintenance as run

        return run(database_url=newsmon_database_url())

    maintenance()


newsmon_maintenance()
