"""``make demo`` (``python -m demo``): the whole job on one machine, watched live.

Starts the local Kafka broker (deploy/kafka/kafka.sh), a worker, a real Prometheus with the project's
rules and a real Alertmanager; replays a generated ``iran2009`` scenario (or the seed feed) paced to about
``DEMO_SECONDS``; shows a live view in the terminal (plain lines elsewhere); and at the end scores the
alerts against the scenario's truth file.

The modules, pure first: :mod:`.config` (environment → settings, derived Prometheus and Alertmanager
configs), :mod:`.wording` (an alert in words), :mod:`.snapshot` (metrics → the numbers on screen),
:mod:`.view` (numbers → a ``rich`` renderable or a plain line), :mod:`.report` (alerts against the truth);
then the wiring: :mod:`.stack` (the processes), :mod:`.monitor` (reading the endpoints and the alerts
topic), :mod:`.keys` (the terminal's keys) and :mod:`.cli` (the run).
"""
