"""gunicorn settings read by default from the working directory (`gunicorn wsgi:app`).

Only what Parley needs of every deployment: feed and RSVP tokens never reach the access
log (webapp/logredact.py). Everything else comes from the command line or GUNICORN_CMD_ARGS.
"""

logger_class = "webapp.logredact.RedactingLogger"

# Preloaded, then frozen out of the garbage collector's walks before the workers fork.
preload_app = True
from webapp.serving import when_ready  # noqa: E402,F401  (a gunicorn hook, by its name)
