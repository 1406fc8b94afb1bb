"""What ``python -m pipeline purge`` deletes (pipeline/purge.py): only this stack's topics, groups and
state. Pure; tests/integration/test_privacy.py runs it on the real broker."""

from pipeline.purge import plan_purge
from pipeline.settings import Settings


def test_the_plan_takes_the_stacks_topics_groups_and_state_and_nothing_else(tmp_path):
    data = tmp_path / "state"
    data.mkdir()
    key = tmp_path / "author.key"
    key.write_text("k")
    settings = Settings.from_env({}, app_id="app", data_dir=data)
    stack = {"posts", "posts.classified", "posts.detect", "alerts", "posts.dead-letter"}
    internal = {"app-detector-state-changelog", "app-__assignor-__leader"}
    topics = stack | internal | {"other", "apple-x", "__consumer_offsets"}
    groups = {"app", "app-classify", "app-detect", "apple", "someone-else"}
    plan = plan_purge(settings, topics, groups)
    assert set(plan.topics) == stack | internal
    assert plan.groups == ("app", "app-classify", "app-detect")
    assert plan.paths == (data,)
    assert plan_purge(settings, topics, groups, key_file=key).paths == (data, key)
    assert plan_purge(settings, set(), set(), key_file=tmp_path / "missing").lines() == [
        "directory " + str(data)
    ]
