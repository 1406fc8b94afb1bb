from pipeline.stream.health import HealthMonitor, PartitionOffsets

TP = ("posts", 0)


def monitor() -> HealthMonitor:
    return HealthMonitor(stall_seconds=60, interval=5)


def test_a_partition_whose_position_moves_is_never_stalled():
    health = monitor()
    for step in range(30):
        report = health.observe(step * 10.0, {TP: PartitionOffsets(1000 + step * 100, step * 90, step * 95)},
                                broker_connected=True)  # fmt: skip
        assert not report.stalled
    # Lag is what is not read yet; what was read and not committed is held, apart.
    assert report.partitions[0].lag == 1000 + 29 * 100 - (29 * 95 + 1)
    assert report.partitions[0].held == 29 * 95 + 1 - 29 * 90


def test_records_waiting_and_no_progress_for_stall_seconds_is_a_stall():
    health = monitor()
    health.observe(0.0, {TP: PartitionOffsets(500, 100, 120)}, broker_connected=True)
    assert not health.observe(59.0, {TP: PartitionOffsets(900, 100, 120)}, broker_connected=True).stalled
    report = health.observe(61.0, {TP: PartitionOffsets(950, 100, 120)}, broker_connected=True)
    assert [(p.topic, p.partition) for p in report.stalled] == [TP]
    record = report.to_record(61.0, health.max_age)
    assert record["status"] == "stalled" and record["stalled"] == ["posts[0]"] and not record["healthy"]
    # It moves again: healthy at once.
    report = health.observe(62.0, {TP: PartitionOffsets(950, 100, 121)}, broker_connected=True)
    assert not report.stalled and report.healthy(62.0, health.max_age)


def test_an_idle_partition_with_nothing_waiting_is_not_stalled():
    health = monitor()
    health.observe(0.0, {TP: PartitionOffsets(100, 100, 99)}, broker_connected=True)
    report = health.observe(600.0, {TP: PartitionOffsets(100, 100, 99)}, broker_connected=True)
    assert not report.stalled
    assert report.partitions[0].lag == 0


def test_held_acks_are_not_a_stall_while_reading_goes_on():
    # The detect stage commits only at snapshots: committed stands still while read advances.
    health = monitor()
    for step in range(20):
        report = health.observe(
            step * 10.0, {TP: PartitionOffsets(5000, 10, 100 + step)}, broker_connected=True
        )
    assert not report.stalled


def test_a_caught_up_partition_reads_zero_lag_while_records_are_held_for_a_snapshot():
    health = monitor()
    report = health.observe(0.0, {TP: PartitionOffsets(98, 0, 97)}, broker_connected=True)
    assert report.partitions[0].lag == 0 and report.partitions[0].held == 98
    assert report.to_record(0.0, health.max_age)["held"] == {"posts[0]": 98}


def test_a_worker_that_never_reads_an_assigned_partition_stalls():
    health = monitor()
    health.observe(0.0, {TP: PartitionOffsets(100, None, None)}, broker_connected=True)
    report = health.observe(70.0, {TP: PartitionOffsets(100, None, None)}, broker_connected=True)
    assert report.stalled and report.partitions[0].lag is None


def test_a_reassigned_partition_starts_its_clock_afresh():
    health = monitor()
    health.observe(0.0, {TP: PartitionOffsets(500, 100, 120)}, broker_connected=True)
    health.observe(30.0, {}, broker_connected=True)  # revoked
    report = health.observe(65.0, {TP: PartitionOffsets(600, 100, 120)}, broker_connected=True)
    assert not report.stalled


def test_status_order_starting_unresponsive_broker_ok():
    health = monitor()
    assert health.report().to_record(0.0, health.max_age)["status"] == "starting"
    report = health.observe(0.0, {}, broker_connected=False, error="KafkaConnectionError: down")
    record = report.to_record(1.0, health.max_age)
    assert record["status"] == "broker_unreachable" and record["error"].startswith("KafkaConnectionError")
    report = health.observe(5.0, {}, broker_connected=True)
    assert report.to_record(6.0, health.max_age)["status"] == "ok"
    # The probe stopped running (a blocked event loop): the last report goes stale.
    assert report.to_record(5.0 + health.max_age + 1, health.max_age)["status"] == "unresponsive"
    assert not report.healthy(5.0 + health.max_age + 1, health.max_age)


def test_no_stall_is_claimed_while_the_broker_is_unreachable():
    health = monitor()
    health.observe(0.0, {TP: PartitionOffsets(500, 100, 120)}, broker_connected=True)
    report = health.observe(100.0, {TP: PartitionOffsets(None, 100, 120)}, broker_connected=False)
    assert not report.stalled


def test_a_partition_held_back_by_alignment_is_not_a_stall():
    health = monitor()
    health.observe(0.0, {TP: PartitionOffsets(500, 100, 120, aligned_back=True)}, broker_connected=True)
    report = health.observe(
        600.0, {TP: PartitionOffsets(900, 100, 120, aligned_back=True)}, broker_connected=True
    )
    assert not report.stalled
    # Let through again: its clock runs from the last probe that saw it held, as if it had just moved.
    assert not health.observe(650.0, {TP: PartitionOffsets(900, 100, 120)}, broker_connected=True).stalled
    assert health.observe(661.0, {TP: PartitionOffsets(900, 100, 120)}, broker_connected=True).stalled
