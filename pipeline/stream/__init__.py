"""The streaming stack around the pure engine: the Faust app and its topics, the classify stage, the
detect stage around :class:`~pipeline.stream.detect_loop.DetectLoop`, the health probe, and the small
objects that decide their correctness (alignment, in-order acks, snapshot chunks, the stop deadline)."""
