"""Vigil's domain core: sources, posts, rollups, spikes, alerts and reports. Imports no Celery."""
