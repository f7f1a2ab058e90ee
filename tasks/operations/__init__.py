"""Operations: the trigger rules (which event asks for which flow run) and the
format watch, as plain Python.

The deployments and automations that carry these rules to a Prefect server live
on the flows side (``flows/deployments.py``, ``flows/automations.py``).
"""
