"""Regulatory watcher: watch folders, git branches and URLs by content hash, mirror
changes into the knowledge base's regulatory area, and score how much they matter.

Only the config is imported here: ``ragtune.app.settings`` imports it, and the rest
(HTTP, git, PDF extraction) is loaded where it is used.
"""

from ragtune.tasks.watch.config import WatchConfig, WatchSource

__all__ = ["WatchConfig", "WatchSource"]
