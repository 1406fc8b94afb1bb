"""The bare Faust baseline: one agent that decodes each record with orjson and forwards it to another topic.

    BENCH_BOOTSTRAP=127.0.0.1:9092 BENCH_APP_ID=pass BENCH_SOURCE=posts BENCH_SINK=out \\
    BENCH_DATA_DIR=/tmp/pass python -m bench.faust_passthrough worker -l warn

Same broker settings as the pipeline's App (acks=all, earliest, no web server, in-memory store) and a
commit every second like the classify stage, so the two differ only in what they do per record.
"""

from __future__ import annotations

import os

import faust
import orjson

app = faust.App(
    os.environ.get("BENCH_APP_ID", "bench-passthrough"),
    broker=f"kafka://{os.environ.get('BENCH_BOOTSTRAP', '127.0.0.1:9092')}",
    store="memory://",
    datadir=os.environ.get("BENCH_DATA_DIR", ".bench-passthrough"),
    web_enabled=False,
    topic_partitions=4,
    topic_replication_factor=1,
    consumer_auto_offset_reset="earliest",
    producer_acks=-1,
    broker_commit_interval=1.0,
)
source = app.topic(os.environ.get("BENCH_SOURCE", "posts"), key_serializer="raw", value_serializer="raw")
sink = app.topic(
    os.environ.get("BENCH_SINK", "posts.passthrough"),
    partitions=4,
    internal=True,
    key_serializer="raw",
    value_serializer="raw",
)


@app.agent(source, name="passthrough")
async def passthrough(stream: faust.StreamT) -> None:
    async for event in stream.events():
        post = orjson.loads(event.value)
        await sink.send(key=event.key, value=orjson.dumps(post))


if __name__ == "__main__":
    app.main()
