"""Settings from the environment, and what production refuses."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from callhistory.cli import app
from callhistory.config import (
    DEFAULT_SECRET,
    Settings,
    UnsafeSettings,
    check_production,
    get_settings,
)


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(UnsafeSettings, match="SECRET_KEY"):
        check_production(Settings(environment="production"))
    with pytest.raises(UnsafeSettings):
        check_production(Settings(environment="production", secret_key="short"))
    check_production(Settings(environment="production", secret_key="s" * 48))
    check_production(Settings(secret_key=DEFAULT_SECRET))  # development: allowed
    with pytest.raises(UnsafeSettings):
        check_production(Settings(environment="staging"))


def test_serve_will_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLHISTORY_ENVIRONMENT", "Production")
    monkeypatch.delenv("CALLHISTORY_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "CALLHISTORY_SECRET_KEY" in result.output


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLHISTORY_MAX_PAGE_SIZE", "20")
    monkeypatch.setenv("CALLHISTORY_RATE_LIMIT_API", "10/minute")
    settings = Settings.from_env()
    assert (settings.max_page_size, settings.rate_limit_api) == (20, "10/minute")
    monkeypatch.setenv("CALLHISTORY_MAX_PAGE_SIZE", "many")
    with pytest.raises(ValueError, match="CALLHISTORY_MAX_PAGE_SIZE"):
        Settings.from_env()


def test_the_database_pool_size(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().database_pool_size == 20
    monkeypatch.setenv("CALLHISTORY_DATABASE_POOL_SIZE", "5")
    assert Settings.from_env().database_pool_size == 5
    monkeypatch.setenv("CALLHISTORY_DATABASE_POOL_SIZE", "0")
    with pytest.raises(ValueError, match="at least 1"):
        Settings.from_env()


def test_cors_origins_are_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLHISTORY_CORS_ORIGINS", " https://a.example.vn, http://[::1]:3000/ ,")
    assert Settings.from_env().cors_origins == ("https://a.example.vn", "http://[::1]:3000")
    monkeypatch.setenv("CALLHISTORY_CORS_ORIGINS", "*")
    assert Settings.from_env().cors_origins == ("*",)
    monkeypatch.delenv("CALLHISTORY_CORS_ORIGINS")
    assert Settings.from_env().cors_origins == ()
    for bad in ("a.example.vn", "https://a.example.vn/path", "ftp://a.example.vn"):
        monkeypatch.setenv("CALLHISTORY_CORS_ORIGINS", bad)
        with pytest.raises(ValueError, match="CALLHISTORY_CORS_ORIGINS"):
            Settings.from_env()


def test_webhook_allow_private_is_a_checked_boolean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLHISTORY_WEBHOOK_ALLOW_PRIVATE", raising=False)
    assert Settings.from_env().webhook_allow_private is False
    for raw, value in (("true", True), (" Yes ", True), ("1", True), ("off", False), ("", False)):
        monkeypatch.setenv("CALLHISTORY_WEBHOOK_ALLOW_PRIVATE", raw)
        assert Settings.from_env().webhook_allow_private is value
    monkeypatch.setenv("CALLHISTORY_WEBHOOK_ALLOW_PRIVATE", "sometimes")
    with pytest.raises(ValueError, match="WEBHOOK_ALLOW_PRIVATE must be true or false"):
        Settings.from_env()
