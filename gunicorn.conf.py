"""gunicorn's settings for a deployment (`make prod`; `gunicorn -c gunicorn.conf.py`).

Everything a deployment changes comes from the environment:

  WEB_CONCURRENCY       worker processes (default 2 × cores + 1)
  GUNICORN_THREADS      threads per worker (default 1: the scan is CPU-bound Python, and
                        bench/scan.py measured more threads per worker as slower)
  BIND                  where to listen (default 127.0.0.1:8000, behind a proxy); a load
                        balancer in front of several machines wants 0.0.0.0:8000
  ACCESS_LOG            `-` for stdout or a file path: one JSON object per request
                        (default off; the proxy or load balancer usually keeps one)
  GRACEFUL_TIMEOUT      seconds a stopping worker has to finish its requests (default 30)

gunicorn reads this file by itself when started in the repository's folder, so the test
suite's and the benchmarks' servers read it too; they set what they measure on the
command line, which wins over this file.
"""

import json
import multiprocessing
import os

wsgi_app = "wsgi:app"
bind = os.environ.get("BIND") or "127.0.0.1:8000"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# gthread keeps idle keep-alive connections off the workers: a counter tablet holding
# its connection open does not take a worker from the other counters.
worker_class = "gthread"
keepalive = 5

# No preloading: each worker builds the app, and so its database engine and pool, after
# the fork; a pool made before the fork would share its connections between processes.
# It also lets `kill -HUP` load new code into fresh workers.
preload_app = False

# A worker silent this long is killed and replaced; a stopping one (SIGTERM, a deploy)
# finishes the requests under way first, so no scan is cut off half-way.
timeout = 30
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "30"))

# The access log is off unless asked for; when on, one JSON object per line. The path is
# logged without its query string: the counter look-up carries names and phone digits.
accesslog = os.environ.get("ACCESS_LOG") or None
access_log_format = json.dumps(
    {
        "time": "%(t)s",
        "remote": "%(h)s",
        "method": "%(m)s",
        "path": "%(U)s",
        "status": "%(s)s",
        "bytes": "%(B)s",
        "duration_ms": "%(M)s",
        "agent": "%(a)s",
    }
)
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")

# Heartbeat files on a memory file system, not a container's overlay disk, where a slow
# write could make a busy worker look dead.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
