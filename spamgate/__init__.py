"""spamgate: comment spam moderation with reasons. The command line and the configuration live here;
the scoring core is in ``model``, training in ``training``, the HTTP service in ``service``."""

__version__ = "0.1.0"
