"""The supervised fine-tuning set: build it (``build.build_sft``) and gate it
(``gates.run_gates``).

Nothing heavy is imported here: ``ragtune.app.settings`` imports this package's
``config`` module, and loading params.yaml must stay fast.
"""
