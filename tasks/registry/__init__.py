"""registry capability: MLflow model registry with lineage, the promotion log, and
promotion/rollback of the champion model and the live index tag together.

Entry point: ``ragtune.tasks.registry.registry.ModelRegistry``. This file imports
nothing, so loading params.yaml (which imports ``config``) stays free of MLflow.
"""
