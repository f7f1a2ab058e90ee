"""Operations: deployments from params, trigger decisions, format watch.

Plain Python: the Prefect API calls that apply these live in the CLI
(``ragtune deploy``) and the ``trigger-router`` flow.
"""
