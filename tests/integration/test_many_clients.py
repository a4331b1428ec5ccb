"""Many clients chatting in several rooms over real sockets (PROTOCOL.md §2, §4-§6).

Thirty clients, four rooms besides #lobby, messages sent concurrently from every member,
direct messages in a ring: each member gets every message of its rooms exactly once, all in
the same order, ``seq`` +1 per room; joins, leaves and quits are announced once to the right
people; the lists are right.
"""

from __future__ import annotations

import threading

from localchat.adapters.wire import packets as p
from tests.integration.support import Inbox, by_name
from tests.servers import RunningServer

WORDS = ["ada", "Bob", "carol", "Dave", "Émile", "zoë", "Ørjan", "yuki", "Xavier", "wen"]
NAMES = [f"{WORDS[i % len(WORDS)]}{i}" for i in range(30)]
ROOMS = ["#alpha", "#Beta", "#gamma", "#Straße"]
CANONICAL = ["#alpha", "#beta", "#gamma", "#strasse"]
PER_ROOM = 3  # messages each member sends to each of its rooms


def rooms_of(index: int) -> list[int]:
    return [index % 4, (index + 1) % 4]


def test_thirty_clients_in_four_rooms(chat_server: RunningServer) -> None:
    inboxes: list[Inbox] = []
    for index, name in enumerate(NAMES):
        client = chat_server.connect(name)
        assert client.welcome is not None
        assert client.welcome.name == name
        assert client.welcome.users == by_name(NAMES[: index + 1])
        inboxes.append(Inbox(client))

    # Each client heard of everyone who registered after it, in order, and of nobody else.
    for index, inbox in enumerate(inboxes):
        expected = NAMES[index + 1 :]
        if expected:
            inbox.wait_for(p.Joined, count=len(expected))
        assert [j.name for j in inbox.of_type(p.Joined)] == expected
        assert {j.room for j in inbox.of_type(p.Joined)} <= {"#lobby"}

    # Joins, one at a time: the joiner gets joined, user_list and history; members get joined.
    join_order: dict[int, list[int]] = {room: [] for room in range(4)}
    for index, inbox in enumerate(inboxes):
        for room in rooms_of(index):
            inbox.client.join(ROOMS[room])
            join_order[room].append(index)
            members = [NAMES[i] for i in join_order[room]]
            listed = inbox.wait_for(p.UserList, lambda u, r=room: u.room == CANONICAL[r])
            assert listed[0].users == by_name(members)
            history = inbox.wait_for(p.HistoryPage, lambda h, r=room: h.room == CANONICAL[r])
            assert history[0].messages == []
    for room, order in join_order.items():
        for position, member in enumerate(order):
            heard = [j.name for j in inboxes[member].of_type(p.Joined) if j.room == CANONICAL[room]]
            assert heard == [NAMES[i] for i in order[position:]]

    # Everyone talks at once in both its rooms.
    def talk(index: int) -> None:
        for k in range(PER_ROOM):
            for room in rooms_of(index):
                inboxes[index].client.say(f"{NAMES[index]} {k}", room=ROOMS[room])

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(len(NAMES))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for room, members in join_order.items():
        total = len(members) * PER_ROOM
        orders = []
        for member in members:
            got = inboxes[member].wait_for(
                p.ChatMessage, lambda m, r=room: m.room == CANONICAL[r], count=total, timeout=10
            )
            orders.append([(m.seq, m.sender, m.text) for m in got])
        reference = orders[0]
        assert all(order == reference for order in orders), f"{ROOMS[room]}: orders differ"
        assert [seq for seq, _, _ in reference] == list(range(1, total + 1))
        for member in members:
            mine = [text for _, sender, text in reference if sender == NAMES[member]]
            assert mine == [f"{NAMES[member]} {k}" for k in range(PER_ROOM)]
    for index, inbox in enumerate(inboxes):
        rooms = {CANONICAL[r] for r in rooms_of(index)}
        assert {m.room for m in inbox.of_type(p.ChatMessage)} == rooms

    # Direct messages in a ring: each pair has its own counter from 1; the sender gets an echo.
    for index, inbox in enumerate(inboxes):
        to = NAMES[(index + 1) % len(NAMES)]
        inbox.client.direct(to.upper(), f"psst {index} a")
        inbox.client.direct(to, f"psst {index} b")
    for index, inbox in enumerate(inboxes):
        directs = inbox.wait_for(p.DirectMessage, count=4)
        assert len(directs) == 4
        before = NAMES[index - 1]
        after = NAMES[(index + 1) % len(NAMES)]
        received = [(d.seq, d.sender, d.to, d.text) for d in directs if d.sender != NAMES[index]]
        echoed = [(d.seq, d.sender, d.to, d.text) for d in directs if d.sender == NAMES[index]]
        previous = (index - 1) % len(NAMES)
        assert received == [
            (1, before, NAMES[index], f"psst {previous} a"),
            (2, before, NAMES[index], f"psst {previous} b"),
        ]
        assert echoed == [
            (1, NAMES[index], after, f"psst {index} a"),
            (2, NAMES[index], after, f"psst {index} b"),
        ]

    # Lists.
    inboxes[5].client.list_rooms()
    (room_list,) = inboxes[5].wait_for(p.RoomList)
    expected_rooms = sorted(
        [("#lobby", len(NAMES))] + [(CANONICAL[r], len(m)) for r, m in join_order.items()]
    )
    assert [(entry.room, entry.members) for entry in room_list.rooms] == expected_rooms
    inboxes[5].client.list_users()
    lobby_lists = inboxes[5].wait_for(p.UserList, lambda u: u.room == "#lobby")
    assert lobby_lists[0].users == by_name(NAMES)

    # A leave and a quit, each announced once to every remaining member of each room.
    leaver, quitter = 0, 1
    inboxes[leaver].client.leave("#ALPHA")
    inboxes[leaver].wait_for(p.Left, lambda x: x.name == NAMES[leaver])
    inboxes[quitter].client.bye()
    inboxes[quitter].wait_closed()
    left_rooms = {
        (CANONICAL[0], NAMES[leaver], "leave"): join_order[0],
        ("#lobby", NAMES[quitter], "quit"): [i for i in range(len(NAMES)) if i != quitter],
    }
    for room in rooms_of(quitter):
        left_rooms[(CANONICAL[room], NAMES[quitter], "quit")] = [
            i for i in join_order[room] if i != quitter
        ]
    # A last message in every room, after the departures: when it arrives, every `left`
    # of that room has arrived before it (one order per room).
    last_speaker = {
        room: next(i for i in members if i > quitter) for room, members in join_order.items()
    }
    for room, speaker in last_speaker.items():
        inboxes[speaker].client.say("last", room=ROOMS[room])
    inboxes[2].client.say("last")
    for (room_name, name, reason), hearers in left_rooms.items():
        for hearer in hearers:
            inbox = inboxes[hearer]
            if hearer != leaver or room_name != CANONICAL[0]:
                inbox.wait_for(
                    p.ChatMessage, lambda m, r=room_name: m.room == r and m.text == "last"
                )
            lefts = [
                (x.room, x.name, x.reason)
                for x in inbox.of_type(p.Left)
                if x.room == room_name and x.name == name
            ]
            assert lefts == [(room_name, name, reason)], (hearer, lefts)
    # Nobody outside a room heard of departures from it.
    for index, inbox in enumerate(inboxes):
        rooms = {CANONICAL[r] for r in rooms_of(index)} | {"#lobby"}
        assert {x.room for x in inbox.of_type(p.Left)} <= rooms
    # The leaver is out of #alpha: the last message there did not reach it.
    assert not [
        m for m in inboxes[leaver].of_type(p.ChatMessage) if m.room == "#alpha" and m.text == "last"
    ]
