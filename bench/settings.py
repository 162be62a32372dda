"""Settings for benchmark servers: the product's own, plus a baseline view to compare against."""

from contactcenter.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
