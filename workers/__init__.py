"""Celery app and thin tasks: ids in, a session opened, one monitor/classifiers function called."""
