"""The snapshot as chunks of a compacted log: written in two slots, read back from the newest whole one."""

from __future__ import annotations

import asyncio
import os

import pytest

from pipeline.stream.snapshot_log import (
    LEGACY_KEY,
    SnapshotLost,
    SnapshotReader,
    manifest_key,
    plan_write,
    read_newest,
)


class Log:
    """A compacted topic's partition before compaction: every record, in offset order."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, bytes | None]] = []
        self.chunks_by_slot: dict[int, int] = {}
        self.generation = -1
        self.spans_read: list[tuple[int, int]] = []

    def save(self, snapshot: bytes, *, chunk_bytes: int, crash_after_chunks: int | None = None) -> None:
        generation = self.generation + 1
        slot = generation % 2
        write = plan_write(
            snapshot, generation, 0, previous_chunks=self.chunks_by_slot.get(slot, 0), chunk_bytes=chunk_bytes
        )
        for done, record in enumerate(write.chunks):
            if crash_after_chunks is not None and done == crash_after_chunks:
                return  # killed mid-write: no manifest
            self.records.append(record)
        self.records.append(write.manifest)
        self.generation = generation
        self.chunks_by_slot[slot] = sum(1 for _, value in write.chunks if value is not None)

    def compacted(self) -> list[tuple[bytes | None, bytes | None]]:
        latest: dict[bytes | None, bytes | None] = {}
        for key, value in self.records:
            latest.pop(key, None)
            latest[key] = value
        return [(key, value) for key, value in latest.items() if value is not None]

    def newest(self, records=None) -> bytes | None:
        records = self.records if records is None else records

        async def read_span(begin: int, end: int):
            self.spans_read.append((begin, end))
            return records[begin:end]

        return asyncio.run(read_newest(read_span, 0, len(records), first_span=4)).snapshot


def test_an_empty_log_has_no_snapshot():
    assert Log().newest() is None


def test_a_snapshot_bigger_than_a_chunk_comes_back_whole():
    log, snapshot = Log(), os.urandom(10_000)
    log.save(snapshot, chunk_bytes=1024)
    assert len(log.records) == 10 + 1
    assert max(len(value) for _, value in log.records[:-1]) <= 1024 + 8
    assert log.newest() == snapshot


def test_the_newest_of_many_is_read_from_the_end_without_reading_the_whole_log():
    log = Log()
    snapshots = [os.urandom(3000 + i) for i in range(30)]
    for snapshot in snapshots:
        log.save(snapshot, chunk_bytes=1000)
    assert log.newest() == snapshots[-1]
    assert log.spans_read[-1][0] > 0, log.spans_read
    assert log.newest(log.compacted()) == snapshots[-1]


def test_a_writer_killed_mid_snapshot_leaves_the_previous_one_readable():
    log, first, second = Log(), os.urandom(5000), os.urandom(6000)
    log.save(first, chunk_bytes=1000)
    log.save(second, chunk_bytes=1000)
    log.save(os.urandom(7000), chunk_bytes=1000, crash_after_chunks=3)  # overwrites chunks of `first`'s slot
    assert log.newest() == second
    assert log.newest(log.compacted()) == second


def test_a_smaller_snapshot_deletes_the_leftover_chunks_of_its_slot():
    log = Log()
    log.save(os.urandom(8000), chunk_bytes=1000)
    log.save(os.urandom(10), chunk_bytes=1000)
    small = os.urandom(1500)
    log.save(small, chunk_bytes=1000)  # slot 0 again: 2 chunks where there were 8
    keys = [key for key, _ in log.compacted()]
    assert sum(1 for key in keys if key.startswith(b"chunk/0/")) == 2
    assert log.newest(log.compacted()) == small


def test_a_corrupted_chunk_falls_back_to_the_other_slot():
    log, first, second = Log(), os.urandom(3000), os.urandom(3000)
    log.save(first, chunk_bytes=1000)
    log.save(second, chunk_bytes=1000)
    key, value = log.records[-2]
    log.records[-2] = (key, value[:-1] + bytes([value[-1] ^ 1]))  # one bit of second's last chunk
    assert log.newest() == first


def test_a_manifest_whose_chunks_are_all_gone_is_an_error_not_a_fresh_start():
    reader_log = [(manifest_key(0), plan_write(b"x" * 10, 0, 5).manifest[1])]

    async def read_span(begin, end):
        return reader_log[begin:end]

    with pytest.raises(SnapshotLost):
        asyncio.run(read_newest(read_span, 0, len(reader_log)))


def test_the_faust_table_record_of_earlier_versions_is_read():
    reader = SnapshotReader()
    reader.add(LEGACY_KEY, b'{"old": true}')
    assert reader.result().snapshot == b'{"old": true}'
    log = Log()
    log.records.append((LEGACY_KEY, b'{"old": true}'))
    new = os.urandom(100)
    log.save(new, chunk_bytes=1000)
    assert log.newest() == new  # a snapshot of this version wins over the old record
