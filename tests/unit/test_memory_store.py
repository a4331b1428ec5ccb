"""InMemoryMessageStore (``--no-store``, and the fake of the unit tests): paging and seq."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.domain.model import Message
from localchat.domain.names import RoomName

AT = datetime(2026, 11, 22, tzinfo=UTC)
ROOMS = [RoomName.parse("#a"), RoomName.parse("#b")]


@settings(max_examples=150, deadline=None)
@given(
    counts=st.tuples(st.integers(0, 40), st.integers(0, 40)),
    keep=st.integers(1, 30),
    before=st.none() | st.integers(-2, 45),
    limit=st.integers(-1, 50),
)
def test_a_page_is_the_newest_kept_messages_before_a_seq_oldest_first(
    counts: tuple[int, int], keep: int, before: int | None, limit: int
) -> None:
    store = InMemoryMessageStore(keep_per_room=keep)
    for seq in range(1, max(counts) + 1):  # the rooms' messages interleaved
        for room, count in zip(ROOMS, counts, strict=True):
            if seq <= count:
                store.append(Message(room=room, seq=seq, sender="s", text=str(seq), sent_at=AT))
    store.seal()()
    for room, count in zip(ROOMS, counts, strict=True):
        assert store.last_seq(room) == count
        kept = [seq for seq in range(1, count + 1) if seq > count - keep]
        wanted = [seq for seq in kept if before is None or seq < before]
        expected = wanted[max(0, len(wanted) - limit) :] if limit > 0 else []
        page = store.page(room, before=before, limit=limit)
        assert [m.seq for m in page] == expected
        assert all(m.room == room and m.text == str(m.seq) for m in page)


def test_an_unknown_room_is_empty() -> None:
    store = InMemoryMessageStore()
    assert store.last_seq(RoomName.parse("#none")) == 0
    assert store.page(RoomName.parse("#none"), before=None, limit=50) == ()
    store.close()
