import os

import pytest
from pydantic import ValidationError

from monitor.config import MIN_KEY_CHARS, Settings

KEY = "9f2c4e7a1b3d5f60" * 2


@pytest.mark.parametrize("field", ["pseudonym_key", "webhook_secret", "session_secret", "smtp_password"])
def test_an_empty_secret_is_no_secret(field):
    """Compose passes "" for a variable left unset: that must mean "not set", never a key of zero bytes."""
    assert getattr(Settings(**{field: ""}), field) is None
    assert getattr(Settings(**{field: "   "}), field) is None


@pytest.mark.parametrize("field", ["pseudonym_key", "webhook_secret", "session_secret", "smtp_password"])
def test_placeholder_secrets_are_refused(field):
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(**{field: "changeme"})


@pytest.mark.parametrize("field", ["pseudonym_key", "webhook_secret", "session_secret"])
def test_short_keys_are_refused(field):
    with pytest.raises(ValidationError, match="at least"):
        Settings(**{field: "k" * (MIN_KEY_CHARS - 1)})
    assert getattr(Settings(**{field: KEY}), field).get_secret_value() == KEY


def test_a_short_smtp_password_is_the_mail_server_s_business():
    assert Settings(smtp_password="hunter22").smtp_password.get_secret_value() == "hunter22"


def test_no_webhook_secret_means_webhooks_are_not_signed_with_an_empty_key():
    from monitor.notify import post_webhook

    with pytest.raises(RuntimeError, match="VIGIL_WEBHOOK_SECRET is not set"):
        post_webhook(Settings(webhook_secret=""), "https://127.0.0.1:9/hook", b"{}")


def test_an_empty_path_is_no_path_not_the_working_directory():
    settings = Settings(model_dir="", triggers_file=" ")  # compose passes "" for a variable left unset
    assert settings.model_dir is None and settings.triggers_file is None
    assert str(Settings(triggers_file="/etc/vigil/triggers.yaml").triggers_file) == "/etc/vigil/triggers.yaml"


def test_a_triggers_file_never_compiled_gives_the_packaged_taxonomy_and_an_error(tmp_path):
    import structlog.testing

    from classifiers.taxonomy import load_taxonomy
    from monitor.triggers import current_taxonomy

    path = tmp_path / "triggers.yaml"
    path.write_text("triggers:\n  - id: sport\n    terms: {en: 5}\n", encoding="utf-8")  # broken from the start
    with structlog.testing.capture_logs() as logs:
        taxonomy = current_taxonomy(Settings(triggers_file=path))
    assert taxonomy.digest == load_taxonomy().digest
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["triggers_file_unusable"]
    path.write_text("triggers:\n  - id: sport\n    terms: {en: [football]}\n", encoding="utf-8")
    os.utime(path, ns=(0, 1))
    assert current_taxonomy(Settings(triggers_file=path)).ids == ["sport"]  # fixed: read at the next call
