"""The application layer: params.yaml composed into ``Settings``, the resources a
run uses resolved from it once (``catalog``), and the functions that turn the
whole configuration into the inputs of one capability.

Flows and the CLI import from here; capabilities in ``ragtune.tasks`` never do.
Each capability takes its own config section and the resources it needs, so it
can be called and tested without params.yaml.
"""
