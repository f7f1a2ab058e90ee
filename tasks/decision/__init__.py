"""The RAG-vs-fine-tune decision framework: gaps in, evidence-backed decisions out.

Plain Python; the Prefect wiring lives in ``flows/``, the composition from
params.yaml in ``ragtune.app.decision``. See docs/decision-framework.md. Import
from the modules (``gaps``, ``rules``, ``pipeline``, ``record``...): this file
stays empty so that loading params.yaml, which imports ``config``, pays for
nothing else.
"""
