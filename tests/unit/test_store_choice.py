"""Which store a server gets: ``--store PATH``, ``--no-store`` / ``:memory:``, or the default
file in the user's data directory (``XDG_DATA_HOME`` is a fresh folder in every test)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.adapters.sqlite.store import SqliteMessageStore
from localchat.app.bootstrap import (
    MEMORY_STORE,
    build_server,
    default_store_path,
    open_store,
    store_path,
)
from localchat.app.settings import load_settings
from localchat.ports.store import StoreError


def test_the_default_is_history_db_in_the_user_data_directory() -> None:
    expected = Path(os.environ["XDG_DATA_HOME"]) / "localchat" / "history.db"
    assert default_store_path() == expected
    assert store_path(load_settings()) == expected


def test_memory_means_no_file() -> None:
    settings = load_settings({"store": MEMORY_STORE})
    assert store_path(settings) is None
    assert isinstance(open_store(settings), InMemoryMessageStore)


def test_a_chosen_path_is_used_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert store_path(load_settings({"store": "~/chat.db"})) == tmp_path / "chat.db"
    monkeypatch.setenv("LOCALCHAT_STORE", str(tmp_path / "env.db"))
    assert store_path(load_settings()) == tmp_path / "env.db"


def test_the_default_directory_is_created_a_chosen_one_is_not(tmp_path: Path) -> None:
    store = open_store(load_settings())
    try:
        assert isinstance(store, SqliteMessageStore)
        assert store.path == default_store_path()
        assert store.path.is_file()
    finally:
        store.close()
    with pytest.raises(StoreError, match="No such file or directory"):
        open_store(load_settings({"store": str(tmp_path / "missing" / "x.db")}))


def test_a_server_built_without_a_store_opens_the_configured_file(tmp_path: Path) -> None:
    path = tmp_path / "chosen.db"
    settings = load_settings({"host": "127.0.0.1", "port": 0, "store": str(path)})
    server = build_server(settings, transports=[])
    try:
        assert isinstance(server.store, SqliteMessageStore)
        assert server.store.path == path
    finally:
        server.store.close()
