"""A bare Flask app: one route returning a constant string, nothing else (no extensions,
no hooks, no session). The floor the product's own constant route (`/bench/constant` in
bench/wsgi.py, the product app with its hooks) is compared with in every round (#24:
"at least 0.8 of bare Flask's throughput on the constant route"). Served by the same
gunicorn configuration as the product.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/bench/constant")
def bench_constant():
    return "ok"


@app.get("/healthz")
def healthz():
    return "ok"
