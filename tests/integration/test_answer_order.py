"""Answers come back in the order of the requests (docs/protocol.md §8).

Errors name no request, so a client that pipelines matches each error to its cause by
order. The connection's own answers (``pong``, ``bad_message``, ``unknown_type``,
``invalid_room``, fatal errors) must therefore not overtake the chat core's answers to
frames sent before them.
"""

from __future__ import annotations

from localchat.adapters.wire import packets as p
from tests.servers import RunningServer
from tests.wire_support import json_frame


def kinds(packets: list[p.Packet]) -> list[str]:
    return [
        f"error:{packet.code}" if isinstance(packet, p.Error) else str(packet.type)  # type: ignore[attr-defined]
        for packet in packets
    ]


def test_pipelined_requests_are_answered_in_order(chat_server: RunningServer) -> None:
    ada = chat_server.connect("ada")
    for _ in range(20):  # many rounds: a race would show in some of them
        ada.send_raw(
            json_frame({"type": "join", "room": "#ops"})
            + json_frame({"type": "shout"})
            + json_frame({"type": "list_rooms"})
            + b"\x00\x00\x00\x03{x}"
            + json_frame({"type": "leave", "room": "#ops"})
            + json_frame({"type": "join", "room": "#no such room"})
            + json_frame({"type": "ping", "id": "end"})
        )
        answers = [ada.receive(timeout=5) for _ in range(9)]
        assert kinds(answers) == [
            "joined",
            "user_list",
            "history",
            "error:unknown_type",
            "room_list",
            "error:bad_message",
            "left",
            "error:invalid_room",
            "pong",
        ]


def test_the_fatal_error_comes_after_the_answers_before_it(chat_server: RunningServer) -> None:
    ada = chat_server.connect("ada")
    ada.send_raw(
        json_frame({"type": "list_rooms"})
        + json_frame({"type": "say", "text": "last words"})
        + b"\x00\x00\x00\x03{x}" * 10
    )
    answers = []
    while not (answers and isinstance(answers[-1], p.Error) and answers[-1].fatal):
        answers.append(ada.receive(timeout=5))
    assert kinds(answers) == ["room_list", "message"] + ["error:bad_message"] * 9 + [
        "error:too_many_errors"
    ]
