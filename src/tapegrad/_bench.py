"""Old name of ``tapegrad.bench`` (the benchmark harness), kept for the tests
that still import it (tests/_replay_cases.py, tests/replay/test_replay.py);
to be removed once they import ``tapegrad.bench``."""

from .bench import ALPHA, MLP, SEED, Neuron, OpsNeuron, demo_loss, make_moons

_demo_loss = demo_loss

__all__ = ["ALPHA", "MLP", "SEED", "Neuron", "OpsNeuron", "make_moons"]
