"""Reports that flows publish as Prefect artifacts and the CLI prints."""
