"""Faust agents over the posts topic, and the pure logic they call."""
