"""### newsmon_alerts
Runs whenever new articles arrive (the asset `newsmon://articles`): raises keyword,
new-term and spike alerts for what arrived since the last evaluation, then delivers
pending alerts (webhook, e-mail) exactly once per channel.
"""
from airflow.sdk import dag, task

from newsmon_common import ARTICLES, COMMON_DAG_ARGS, newsmon_database_url


@dag(dag_id="newsmon_alerts", schedule=[ARTICLES], tags=["newsmon", "alerts"], doc_md=__doc__,
     **COMMON_DAG_ARGS)
def newsmon_alerts():
    @task
    def evaluate_and_deliver() -> dict:
        from newsmon.orchestrator import evaluate_alerts

        return evaluate_alerts(database_url=newsmon_database_url())

    evaluate_and_deliver()


newsmon_alerts()
