"""demo/keys.py on a pseudo-terminal: cbreak while reading, keys delivered one by one, the terminal's
settings back as they were afterwards."""

from __future__ import annotations

import io
import os
import termios
import threading

from demo.keys import KeyReader


def test_keys_arrive_without_enter_and_the_terminal_is_restored():
    master, slave = os.openpty()
    stream = os.fdopen(slave, "rb", buffering=0)
    try:
        before = termios.tcgetattr(slave)
        assert before[3] & termios.ICANON and before[3] & termios.ECHO
        got: list[str] = []
        three = threading.Event()

        def on_key(key: str) -> None:
            got.append(key)
            if len(got) == 3:
                three.set()

        with KeyReader(on_key, stream) as reader:
            assert reader.active
            during = termios.tcgetattr(slave)
            assert not during[3] & termios.ICANON and not during[3] & termios.ECHO
            assert during[3] & termios.ISIG  # Ctrl-C still interrupts
            os.write(master, b"+ -")
            assert three.wait(5), got
        assert got == ["+", " ", "-"]
        assert termios.tcgetattr(slave) == before
    finally:
        stream.close()
        os.close(master)


def test_a_failing_command_does_not_stop_the_keys():
    master, slave = os.openpty()
    stream = os.fdopen(slave, "rb", buffering=0)
    got: list[str] = []
    done = threading.Event()

    def on_key(key: str) -> None:
        got.append(key)
        if key == "q":
            done.set()
        else:
            raise RuntimeError("the replay is gone")

    try:
        with KeyReader(on_key, stream):
            os.write(master, b"+q")
            assert done.wait(5)
        assert got == ["+", "q"]
    finally:
        stream.close()
        os.close(master)


def test_not_a_terminal_does_nothing():
    with KeyReader(lambda key: None, io.BytesIO(b"+")) as reader:
        assert not reader.active
    read, write = os.pipe()
    with os.fdopen(read, "rb") as pipe, KeyReader(lambda key: None, pipe) as reader:
        assert not reader.active
    os.close(write)
