"""gunicorn settings read by default from the working directory (`gunicorn wsgi:app`).

Only what Parley needs of every deployment: feed and RSVP tokens never reach the access
log (webapp/logredact.py). Everything else comes from the command line or GUNICORN_CMD_ARGS.
"""

logger_class = "webapp.logredact.RedactingLogger"
