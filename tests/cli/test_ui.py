"""``tuneforge ui``: where it may listen and what it says when it may not."""

from __future__ import annotations

import pytest

from tuneforge.cli import main


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_beyond_loopback_without_a_token_it_refuses_to_start(host, tmp_path, monkeypatch, capsys):
    """Listening beyond loopback needs a token, as the model server does: exit 2, naming the
    address and the two ways out, and nothing is served."""
    monkeypatch.delenv("TUNEFORGE_TOKEN", raising=False)
    started = []
    monkeypatch.setattr(
        "tuneforge.recipes.serve.GracefulServer.run", lambda self: started.append(1)
    )
    assert main(["ui", "--host", host, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"Refusing to serve on {host} without authentication" in err
    assert "TUNEFORGE_TOKEN" in err and "127.0.0.1" in err
    assert started == []


def test_with_a_token_it_starts_beyond_loopback_and_says_where(tmp_path, monkeypatch, capsys):
    """With $TUNEFORGE_TOKEN set the same command starts, announcing its address and that a
    login is needed (the server loop itself is replaced here: nothing listens)."""
    monkeypatch.setenv("TUNEFORGE_TOKEN", "t" * 20)
    monkeypatch.delenv("TUNEFORGE_STORE_URL", raising=False)
    started = []
    monkeypatch.setattr(
        "tuneforge.recipes.serve.GracefulServer.run", lambda self: started.append(1)
    )
    assert main(["ui", "--host", "0.0.0.0", "--port", "8099", "--runs-dir", str(tmp_path)]) == 0
    assert started == [1]
    assert "http://0.0.0.0:8099/" in capsys.readouterr().out


def test_annotator_names_who_the_dashboard_labels_as(tmp_path, monkeypatch):
    """``--annotator`` reaches the dashboard's settings; without it the OS user name does; an
    empty name is refused (exit 2)."""
    monkeypatch.delenv("TUNEFORGE_TOKEN", raising=False)
    monkeypatch.delenv("TUNEFORGE_STORE_URL", raising=False)
    seen = []
    monkeypatch.setattr(
        "tuneforge.recipes.ui.serve_ui", lambda settings, announce: seen.append(settings)
    )
    monkeypatch.setattr("tuneforge.ui.settings.os_user", lambda: "os-user")
    assert main(["ui", "--annotator", "ana", "--runs-dir", str(tmp_path)]) == 0
    assert main(["ui", "--runs-dir", str(tmp_path)]) == 0
    assert [s.annotator for s in seen] == ["ana", "os-user"]
    assert main(["ui", "--annotator", " ", "--runs-dir", str(tmp_path)]) == 2
