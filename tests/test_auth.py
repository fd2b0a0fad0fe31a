"""Login, logout, profile, rate limiting, session cookie flags."""

from webapp import create_app
from webapp.config import load_config


def test_login_logout(client, make):
    user = make.user(email="rep@example.com", password="s3cret")
    assert client.get("/contacts").status_code == 302
    r = client.post("/login", data={"email": "REP@example.com", "password": "wrong"})
    assert r.status_code == 422 and "Wrong email or password" in r.get_data(as_text=True)
    r = client.post("/login", data={"email": "rep@example.com", "password": "s3cret"})
    assert r.status_code == 302
    assert client.get("/contacts").status_code == 200
    assert client.get("/logout").status_code == 405  # GET changes nothing
    assert client.post("/logout").status_code == 302
    assert client.get("/contacts").status_code == 302
    assert user


def test_open_redirect_is_refused(client, make):
    make.user(email="r@example.com", password="pw")
    r = client.post("/login?next=https://evil.example/x", data={"email": "r@example.com",
                                                               "password": "pw"})
    assert r.headers["Location"] == "/"


def test_login_is_rate_limited(client, make, app):
    make.user(email="target@example.com", password="right")
    for _ in range(app.config["LOGIN_RATE_LIMIT"]):
        client.post("/login", data={"email": "target@example.com", "password": "guess"})
    r = client.post("/login", data={"email": "target@example.com", "password": "right"})
    assert r.status_code == 429


def test_profile_changes_zone_and_language(client, make, login):
    user = login(make.user())
    r = client.post("/settings/profile", data={"name": "New Name", "timezone": "Asia/Taipei",
                                               "locale": "zh_Hant"})
    assert r.status_code == 302
    html = client.get("/contacts").get_data(as_text=True)
    assert "聯絡人" in html
    r = client.post("/settings/profile", data={"name": "", "timezone": "Nowhere/City"})
    assert r.status_code == 422
    assert user


def test_session_cookie_flags(tmp_path, monkeypatch):
    cfg = load_config(tmp_path)
    assert cfg["SESSION_COOKIE_HTTPONLY"] and cfg["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert cfg["SESSION_COOKIE_SECURE"] is False  # local dev over http
    monkeypatch.setenv("PARLEY_ENV", "production")
    monkeypatch.setenv("CALENDAR_ENCRYPTION_KEYS", "k")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    assert load_config(tmp_path)["SESSION_COOKIE_SECURE"] is True


def test_production_requires_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PARLEY_ENV", "production")
    monkeypatch.setenv("CALENDAR_ENCRYPTION_KEYS", "k")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    import pytest
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config(tmp_path)


def test_dev_secret_key_is_generated_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PARLEY_ENV", raising=False)
    first = load_config(tmp_path)["SECRET_KEY"]
    assert len(first) > 40 and load_config(tmp_path)["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_embedded_defaults(tmp_path, monkeypatch):
    for var in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "JOBS_MODE"):
        monkeypatch.delenv(var, raising=False)
    cfg = load_config(tmp_path)
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'parley.db'}"
    assert cfg["JOBS_MODE"] == "thread" and cfg["DEV_MAILBOX"] is True
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    cfg = load_config(tmp_path)
    assert cfg["JOBS_MODE"] == "rq"
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert create_app  # the factory is importable without side effects
