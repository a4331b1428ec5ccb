"""The Room aggregate: membership, one seq per room, the errors it raises."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from localchat.domain.errors import AlreadyInRoom, NotInRoom
from localchat.domain.model import Room, SessionId, User
from localchat.domain.names import RoomName, UserName

AT = datetime(2026, 11, 22, 10, 4, 5, 123000, tzinfo=UTC)
ROOM = RoomName.parse("#Dev")


def user(name: str, session: int) -> User:
    return User(name=UserName.parse(name), session=SessionId(session))


def test_members_post_and_each_message_gets_the_next_seq() -> None:
    room = Room(ROOM)
    ada, bob = user("Ada", 1), user("bob", 2)
    room.add(ada)
    room.add(bob)
    first = room.post(ada, "hello", AT)
    second = room.post(bob, "hi  ", AT)
    third = room.post(ada, "e\u0301", AT)
    assert [m.seq for m in (first, second, third)] == [1, 2, 3]
    assert room.last_seq == 3
    assert first.room == ROOM
    assert first.sender == "Ada"
    assert second.text == "hi  "
    assert third.text == "e\u0301"
    assert first.sent_at == AT


def test_seq_continues_from_the_stored_last_seq() -> None:
    room = Room(ROOM, last_seq=41)
    assert room.last_seq == 41
    ada = user("ada", 1)
    room.add(ada)
    assert room.post(ada, "x", AT).seq == 42
    assert room.last_seq == 42


def test_membership_is_by_key_and_session() -> None:
    room = Room(ROOM)
    ada = user("Ada", 1)
    room.add(ada)
    assert ada in room
    assert len(room) == 1
    assert user("ADA", 1) in room  # same key, same session
    assert user("ada", 7) not in room  # same key, another session (a stale user)
    with pytest.raises(AlreadyInRoom):
        room.add(user("ADA", 9))
    assert len(room) == 1


def test_leave_and_post_after_leaving() -> None:
    room = Room(ROOM)
    ada, bob = user("ada", 1), user("bob", 2)
    room.add(ada)
    room.add(bob)
    assert set(room.recipients()) == {SessionId(1), SessionId(2)}
    room.remove(ada)
    assert ada not in room
    assert room.recipients() == (SessionId(2),)
    with pytest.raises(NotInRoom):
        room.post(ada, "x", AT)
    with pytest.raises(NotInRoom):
        room.remove(ada)
    assert room.last_seq == 0  # the refused post used no seq


def test_remove_refuses_a_stale_user_with_the_same_name() -> None:
    room = Room(ROOM)
    room.add(user("ada", 1))
    with pytest.raises(NotInRoom):
        room.remove(user("ada", 2))
    assert room.recipients() == (SessionId(1),)


def test_recipients_follow_membership_changes() -> None:
    room = Room(ROOM)
    assert room.recipients() == ()
    room.add(user("a", 1))
    assert room.recipients() == (SessionId(1),)
    room.add(user("b", 2))
    assert set(room.recipients()) == {SessionId(1), SessionId(2)}
    room.remove(user("a", 1))
    assert room.recipients() == (SessionId(2),)


def test_member_names_are_sorted_by_key_then_code_point() -> None:
    room = Room(ROOM)
    for session, name in enumerate(["bob", "Zoe", "\u00e9mile", "Ada", "carl"], start=1):
        room.add(user(name, session))
    assert room.member_names() == ("Ada", "bob", "carl", "Zoe", "\u00e9mile")
