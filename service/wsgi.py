"""gunicorn's entry point: ``gunicorn -c service/gunicorn.conf.py service.wsgi:app``."""

from . import create_app

app = create_app()
# Loaded in the master before the workers fork (preload_app): one check here builds what the scoring
# core builds on first use (the suffix list, the character-class table, phone metadata, the case classes
# of a text beyond ASCII), so the workers share it and no worker's first request pays for it.
app.extensions["spamgate"].scorer.check("Warm-up, नमस्ते: call +91 98765 43210 or visit https://bit.ly/x and example.co.in",
                                        app.extensions["spamgate"].policy)
