"""SIGTERM/SIGHUP unwind as Terminated, wait for critical blocks, and handlers come back."""

from __future__ import annotations

import os
import signal

import pytest

from privseg.lifecycle import Terminated, critical, handle_termination


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signals_raise_terminated_and_handlers_are_restored(sig: int) -> None:
    before = signal.getsignal(sig)
    with pytest.raises(Terminated) as caught, handle_termination():
        os.kill(os.getpid(), sig)
        for _ in range(1000):  # the Python handler runs between bytecodes
            pass
    assert caught.value.signum == sig and signal.getsignal(sig) == before


def test_a_signal_inside_a_critical_block_waits_for_its_end() -> None:
    finished = False
    with pytest.raises(Terminated), handle_termination(), critical():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):
            pass
        finished = True
    assert finished
