from prometheus_client import generate_latest

from pipeline.metrics import PipelineMetrics
from pipeline.summary import summarize_metrics


def test_summary_adds_up_what_the_worker_exports():
    metrics = PipelineMetrics()
    metrics.posts_consumed.labels("twitter", "IR").inc(3)
    metrics.posts_consumed.labels("news", "unknown").inc(2)
    metrics.posts_invalid.labels("bad_ts").inc()
    metrics.event_time.set(1244901909)
    summary = summarize_metrics(generate_latest(metrics.registry).decode())
    assert summary.consumed == 5
    assert summary.invalid == 1
    assert summary.by_platform == {"twitter": 3, "news": 2}
    assert summary.by_region == {"IR": 3, "unknown": 2}
    assert "event time 2009-06-13T14:05:09Z" in summary.line()


def test_summary_of_an_idle_worker():
    summary = summarize_metrics(generate_latest(PipelineMetrics().registry).decode())
    assert summary.consumed == 0
    assert summary.line().startswith("consumed 0 posts (invalid 0)")
