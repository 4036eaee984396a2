"""The log writer: lines leave the event loop's thread, in order, whole, and never pile up without a trace."""

from __future__ import annotations

import io
import logging
import threading

import pytest

from bot import logs
from bot.logs import FORMAT, BackgroundWriter, LineFormatter


def writer(stream: io.TextIOBase) -> tuple[BackgroundWriter, logging.Logger]:
    handler = BackgroundWriter(stream)  # type: ignore[arg-type]
    handler.setFormatter(LineFormatter(FORMAT))
    logger = logging.getLogger(f"jola.test.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return handler, logger


def test_lines_come_out_in_order_in_the_usual_format_once_flushed() -> None:
    stream = io.StringIO()
    handler, log = writer(stream)
    try:
        for n in range(500):
            log.info("event=test.line n=%d", n)
        handler.flush()
        lines = stream.getvalue().splitlines()
        assert len(lines) == 500
        assert [line.rsplit("n=", 1)[1] for line in lines] == [str(n) for n in range(500)]
        stamp, rest = lines[0].split(" level=", 1)
        assert len(stamp) == len("2026-11-25 17:00:00,123") and stamp[10] == " " and stamp[19] == ","
        assert rest == f"INFO logger={log.name} event=test.line n=0"
    finally:
        handler.close()


def test_arguments_are_read_when_logged_not_when_written() -> None:
    """A list changed right after the call must not change the line (it is written on another thread)."""
    stream = io.StringIO()
    handler, log = writer(stream)
    try:
        ids = [1, 2]
        log.info("event=test.ids ids=%s", ids)
        ids.append(3)
        handler.flush()
        assert stream.getvalue().rstrip().endswith("event=test.ids ids=[1, 2]")
    finally:
        handler.close()


def test_an_exception_keeps_its_traceback() -> None:
    stream = io.StringIO()
    handler, log = writer(stream)
    try:
        try:
            raise KeyError("boom")
        except KeyError:
            log.exception("event=test.failed")
        handler.flush()
        text = stream.getvalue()
        assert "event=test.failed" in text and "Traceback" in text and "KeyError: 'boom'" in text
    finally:
        handler.close()


def test_close_writes_everything_logged_before_it() -> None:
    stream = io.StringIO()
    handler, log = writer(stream)
    for n in range(100):
        log.info("event=test.line n=%d", n)
    handler.close()
    assert len(stream.getvalue().splitlines()) == 100


class StuckStream(io.StringIO):
    """A reader that stops reading (a full pipe) until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, text: str) -> int:
        self.entered.set()
        self.release.wait(10)
        return super().write(text)


def test_a_stuck_reader_costs_lines_not_memory_and_the_loss_is_logged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logs, "MAX_QUEUED", 10)
    stream = StuckStream()
    handler, log = writer(stream)
    try:
        log.info("event=test.first")
        assert stream.entered.wait(5)  # the writer is now blocked inside write()
        for n in range(25):
            log.info("event=test.line n=%d", n)
        stream.release.set()
        handler.flush()
        lines = stream.getvalue().splitlines()
        assert lines[0].endswith("event=test.first")
        assert "event=log.dropped lines=15 reason=writer_behind" in lines[1]
        assert [line.rsplit("n=", 1)[1] for line in lines[2:]] == [str(n) for n in range(10)]
    finally:
        stream.release.set()
        handler.close()


class BrokenStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.fail = True

    def write(self, text: str) -> int:
        if self.fail:
            self.fail = False
            raise BrokenPipeError
        return super().write(text)


def test_a_failed_write_does_not_stop_the_writer() -> None:
    stream = BrokenStream()
    handler, log = writer(stream)
    try:
        log.info("event=test.lost")
        handler.flush()
        log.info("event=test.kept")
        handler.flush()
        assert stream.getvalue().rstrip().endswith("event=test.kept")
    finally:
        handler.close()


def test_setup_logging_replaces_its_writer_and_keeps_one(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    for name in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, name, getattr(logging, name))  # restored after the test
    try:
        first, second = io.StringIO(), io.StringIO()
        logs.setup_logging("info", stream=first)
        logs.setup_logging("warning", stream=second)
        writers = [h for h in root.handlers if isinstance(h, BackgroundWriter)]
        assert len(writers) == 1 and writers[0].stream is second
        logging.getLogger("jola.test.setup").warning("event=test.setup")
        writers[0].flush()
        assert "event=test.setup" in second.getvalue() and first.getvalue() == ""
    finally:
        for handler in root.handlers[:]:
            if isinstance(handler, BackgroundWriter):
                root.removeHandler(handler)
                handler.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
