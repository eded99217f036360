"""nbclient's client with kernel channels that poll in slices (tlhelpers.notebook_client)."""

import asyncio
import time
from queue import Empty

import nbformat
import pytest
from jupyter_client.channels import AsyncZMQSocketChannel

from tlhelpers.notebook_client import (
    POLL_SLICE,
    SlicedPollChannel,
    SlicedPollClient,
    notebook_client,
)


def _polls(monkeypatch, answer_on: int | None) -> list[float]:
    """Make the parent's ``get_msg`` record each poll's timeout; it answers on poll ``answer_on``."""
    polls: list[float] = []

    async def parent_get_msg(self, timeout=None):
        polls.append(timeout)
        if len(polls) == answer_on:
            return {"msg_type": "execute_reply"}
        await asyncio.sleep(timeout)
        raise Empty

    monkeypatch.setattr(AsyncZMQSocketChannel, "get_msg", parent_get_msg)
    return polls


def test_a_long_wait_is_polled_in_slices_until_the_message_comes(monkeypatch) -> None:
    polls = _polls(monkeypatch, answer_on=3)
    channel = SlicedPollChannel.__new__(SlicedPollChannel)  # no socket: the parent is replaced
    assert asyncio.run(channel.get_msg(timeout=1200)) == {"msg_type": "execute_reply"}
    assert polls == [POLL_SLICE] * 3  # a wake-up missed by one poll is found by the next


def test_the_timeout_still_ends_the_wait_with_empty(monkeypatch) -> None:
    polls = _polls(monkeypatch, answer_on=None)
    channel = SlicedPollChannel.__new__(SlicedPollChannel)
    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(channel.get_msg(timeout=2.5))
    assert 2.5 <= time.monotonic() - start < 3.5
    assert all(0 <= t <= POLL_SLICE for t in polls) and sum(polls) == pytest.approx(2.5, abs=0.2)


def test_notebook_client_makes_kernel_clients_that_poll_in_slices() -> None:
    nb = nbformat.v4.new_notebook()
    km = notebook_client(nb, timeout=60, kernel_name="python3").create_kernel_manager()
    client = km.client()
    assert isinstance(client, SlicedPollClient)
    assert client.shell_channel_class is SlicedPollChannel and client.iopub_channel_class is SlicedPollChannel
