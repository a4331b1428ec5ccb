"""What each scenario asks for, and which worker process owns which connection (pure).

The presets mirror the targets of issue 2 and the scenarios of the shared ``chatload``
tool, so figures can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.worker import ClientPlan

OBSERVER_WEIGHT = 8
CHECKED_WEIGHT = 8
SENDER_WEIGHT = 2
RECEIVER_WEIGHT = 1


class SpecError(ValueError):
    """A scenario specification that cannot run; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class FanoutSpec:
    """C members of ``#lobby`` (client 0 observes), S of them send M messages, window W.

    ``slow`` adds one more member that never reads.
    """

    clients: int
    senders: int
    messages: int
    window: int
    text_len: int = 64
    slow: bool = False

    @property
    def kind(self) -> str:
        return "slow" if self.slow else "fanout"

    @property
    def name(self) -> str:
        extra = "+1" if self.slow else ""
        return (
            f"{self.kind} C={self.clients}{extra} S={self.senders} M={self.messages} "
            f"W={self.window} text={self.text_len}"
        )

    @property
    def expected_deliveries(self) -> int:
        """Every message reaches every regular member, its sender included (the echo)."""
        return self.senders * self.messages * self.clients

    @classmethod
    def parse(cls, text: str, *, slow: bool = False, text_len: int = 64) -> FanoutSpec:
        """``C/S/M/W`` or ``C/S/M/W/TEXT_LEN``."""
        numbers = _numbers(text, 4, 5)
        clients, senders, messages, window = numbers[:4]
        length = numbers[4] if len(numbers) == 5 else text_len
        spec = cls(clients, senders, messages, window, text_len=length, slow=slow)
        if spec.clients < 2 or not 1 <= spec.senders <= spec.clients - 1:
            raise SpecError(f"{text}: need C >= 2 and 1 <= S <= C-1 (client 0 only observes)")
        if spec.messages < 1 or spec.window < 0 or spec.text_len < 1:
            raise SpecError(f"{text}: need M >= 1, W >= 0 (0 = no window), text length >= 1")
        return spec


@dataclass(frozen=True, slots=True)
class IdleSpec:
    """N registered connections, then R rounds of one message from client 0 to all."""

    conns: int
    rounds: int
    text_len: int = 64

    kind = "idle"

    @property
    def name(self) -> str:
        return f"idle N={self.conns} R={self.rounds}"

    @classmethod
    def parse(cls, text: str, *, text_len: int = 64) -> IdleSpec:
        """``N`` or ``N/R``."""
        numbers = _numbers(text, 1, 2)
        spec = cls(numbers[0], numbers[1] if len(numbers) == 2 else 5, text_len)
        if spec.conns < 2 or spec.rounds < 1:
            raise SpecError(f"{text}: need N >= 2 connections and R >= 1 rounds")
        return spec


def _numbers(text: str, least: int, most: int) -> list[int]:
    parts = text.split("/")
    if not least <= len(parts) <= most:
        raise SpecError(f"{text!r}: expected {least} to {most} numbers separated by '/'")
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise SpecError(f"{text!r}: not all numbers") from None


def evenly_spaced(first: int, last: int, count: int) -> list[int]:
    """``count`` distinct integers spread over first..last, both ends included if count > 1."""
    size = last - first + 1
    if count >= size:
        return list(range(first, last + 1))
    if count <= 0:
        return []
    if count == 1:
        return [first + size // 2]
    return [first + round(i * (size - 1) / (count - 1)) for i in range(count)]


def plan_fanout(spec: FanoutSpec, workers: int, checked: int) -> list[tuple[ClientPlan, ...]]:
    """Client plans per worker.

    The observer, the senders and the slow member go to worker 0 (a window opens without
    crossing processes); the other receivers go to the least loaded worker, weighting the
    ones that parse every frame (``checked``, spread evenly over clients 1..C-1).
    """
    chosen = set(evenly_spaced(1, spec.clients - 1, checked))
    first = [ClientPlan(0, observer=True)]
    load = [OBSERVER_WEIGHT] + [0] * (workers - 1)
    for index in range(1, spec.senders + 1):
        first.append(ClientPlan(index, sender=index - 1, checked=index in chosen))
        load[0] += CHECKED_WEIGHT if index in chosen else SENDER_WEIGHT
    if spec.slow:
        first.append(ClientPlan(spec.clients, slow=True))
    shares: list[list[ClientPlan]] = [first] + [[] for _ in range(workers - 1)]
    receivers = sorted(
        range(spec.senders + 1, spec.clients), key=lambda index: (index not in chosen, index)
    )
    for index in receivers:
        weight = CHECKED_WEIGHT if index in chosen else RECEIVER_WEIGHT
        target = load.index(min(load))
        shares[target].append(ClientPlan(index, checked=index in chosen))
        load[target] += weight
    return [tuple(sorted(share, key=lambda plan: plan.index)) for share in shares]


def plan_idle(spec: IdleSpec, workers: int) -> list[tuple[ClientPlan, ...]]:
    """Client 0 (the one that sends each round) in worker 0, the rest dealt round-robin."""
    shares: list[list[ClientPlan]] = [[] for _ in range(workers)]
    shares[0].append(ClientPlan(0, sender=0))
    for index in range(1, spec.conns):
        shares[index % workers].append(ClientPlan(index))
    return [tuple(share) for share in shares]
