"""Antisemitism classifiers: normalisation, trigger taxonomy, models, training and artifacts."""
