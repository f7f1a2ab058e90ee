"""``ragtune serve``: an OpenAI-compatible endpoint over the live index and the
champion model, with output filtering, audit and query logs (``app.create_app``)."""
