"""The host name Airflow records for a task (`[core] hostname_callable`, set by deploy/airflow.env).

NEWSMON_HOSTNAME names a worker when several share one machine (the Celery tests
run two); otherwise it is the machine's name, as Airflow's default.
"""
import os
import socket


def hostname() -> str:
    return os.environ.get("NEWSMON_HOSTNAME") or socket.getfqdn()
