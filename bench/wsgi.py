"""The product app plus bench-only routes, served by the same gunicorn configuration.

`/bench/constant` is the "bare Flask route returning a constant string" the record page's
throughput is compared with; `/bench/code` names the checkout being served (before/after
runs). They live here, never in the product.
"""

import os

import webapp
from webapp import create_app

app = create_app()


@app.get("/bench/constant")
def bench_constant():
    return "ok"


@app.get("/bench/code")
def bench_code():
    return os.path.dirname(os.path.dirname(webapp.__file__))
