"""The replayer: turns feeds into timestamped posts and emits them into Kafka at any speed."""
