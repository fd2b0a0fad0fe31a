"""Parley: schedule and log meetings from CRM records."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

from webapp.config import load_config
from webapp.extensions import babel, csrf, db, htmx, login_manager, migrate
from webapp.fastpath import ParleyFlask, csrf_checks_the_method_first

SUPPORTED_LOCALES = ("en", "zh_Hant")


def select_locale() -> str:
    """The user's setting, else the language chosen on the login page, else Accept-Language."""
    if not has_request_context():
        return "en"
    if current_user and current_user.is_authenticated and current_user.locale:
        return current_user.locale
    chosen = session.get("lang")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    for lang, _quality in request.accept_languages:
        lang = lang.lower().replace("_", "-")
        if lang.startswith("zh"):
            return "zh_Hant"
        if lang.startswith("en"):
            return "en"
    return "en"


def select_timezone() -> str:
    """Times are shown in the viewer's zone."""
    if not has_request_context():
        return "UTC"
    if current_user and current_user.is_authenticated:
        return current_user.zone
    return "UTC"


def create_app(config: dict | None = None) -> Flask:
    """Application factory: build a configured Parley app."""
    app = ParleyFlask(__name__, instance_relative_config=True)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(instance))
    if config:
        app.config.update(config)

    from webapp import inputs, logredact
    inputs.init_app(app)  # the id converter must be in place before any route
    logredact.install()
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from webapp.config import engine_options
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options(app.config["SQLALCHEMY_DATABASE_URI"]),
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    db.init_app(app)
    from webapp.pool import ping_when_idle
    from webapp.types import utc_sessions
    with app.app_context():
        utc_sessions(db.engine)
        ping_when_idle(db.engine, app.config["DATABASE_PING_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"),
                     render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Parley issues no remember-me cookie (login_user() without remember; the user loader
    # finds users in the session only), so Flask-Login's hook that refreshes or clears
    # one has nothing to do on any response (#24, the per-request floor).
    app.after_request_funcs[None].remove(login_manager._update_remember_cookie)
    csrf.init_app(app)
    csrf_checks_the_method_first(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    from webapp import models_registry  # noqa: F401  (every model known to Alembic)
    from webapp.api import bp as api_bp
    from webapp.auth import bp as auth_bp
    from webapp.calendars import bp as calendars_bp
    from webapp.calendars import oauth as calendar_oauth

    # Job-side modules register their relay and sweep steps with the task runner.
    from webapp.calendars import sync  # noqa: F401
    from webapp.conferencing import bp as conferencing_bp
    from webapp.conferencing import tasks  # noqa: F401
    from webapp.conferencing import zoom as zoom_oauth
    from webapp.core import bp as core_bp
    from webapp.delivery import sending  # noqa: F401
    from webapp.mail import bp as mail_bp
    from webapp.meetings import bp as meetings_bp
    from webapp.notifications import bp as notifications_bp
    from webapp.notifications import emails  # noqa: F401
    from webapp.proposals import bp as proposals_bp
    from webapp.proposals import emails as proposal_emails  # noqa: F401
    from webapp.records import bp as records_bp
    from webapp.reminders import sweep  # noqa: F401
    from webapp.reports import bp as reports_bp
    from webapp.rotations import bp as rotations_bp
    from webapp.settings import bp as settings_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(mail_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(calendars_bp)
    calendar_oauth.init_app(app)
    app.register_blueprint(reports_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(rotations_bp)
    from webapp.availability.routes import bp as availability_bp
    app.register_blueprint(availability_bp)
    app.register_blueprint(conferencing_bp)
    app.register_blueprint(proposals_bp)
    zoom_oauth.init_app(app)
    from webapp.scheduling_pages import bp as scheduling_pages_bp
    app.register_blueprint(scheduling_pages_bp)

    from webapp import (
        cli,
        errors,
        filters,
        formtext,
        fragments,
        headers,
        jobs,
        readonly,
        testclock,
    )

    testclock.init_app(app)
    formtext.init_app(app)
    errors.register(app)
    headers.init_app(app)
    filters.register(app)
    fragments.init_app(app)
    cli.register(app)
    jobs.init_app(app)
    readonly.init_app(app)
    app.jinja_env.globals["url_rules"] = set(app.view_functions)
    app.jinja_env.globals["get_locale"] = get_locale
    if app.config.get("PRECOMPILE_TEMPLATES"):
        for name in app.jinja_env.list_templates(extensions=("html", "txt")):
            app.jinja_env.get_template(name)

    @app.before_request
    def _tenant():
        if getattr(g, "api_user", None) is not None:
            return  # the API authenticated this request by its bearer token
        if "_user_id" not in session:
            # Nobody logged in (Flask-Login finds its user in the session only: no
            # remember-me cookie, no request loader): nothing to load (#24).
            g.account_id = None
            return
        g.account_id = current_user.account_id if current_user.is_authenticated else None

    return app
