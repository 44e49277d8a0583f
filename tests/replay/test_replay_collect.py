"""A recording that allocates more than the tape's collection threshold (8 MiB of
tensor buffers) must not be compacted while it records: the nodes recorded so far
would move below its first node and look made before it began (issue 16: a
char-LSTM step's recording failed so)."""

import numpy as np


def test_recording_past_the_collection_threshold(engine):
    from tapegrad._replay import api_for
    replay = api_for(engine)
    rng = np.random.default_rng(0)
    w = engine.tensor(rng.standard_normal((64, 256)) * 0.05, dtype=engine.float32,
                      requires_grad=True)

    def loss_fn(x):
        h = x
        for _ in range(300):             # 600 nodes of 64 KiB: 37 MiB recorded
            h = (h * w).tanh()
        return h.sum()

    xs = [engine.tensor(rng.standard_normal((64, 256)), dtype=engine.float32)
          for _ in range(3)]
    loss_fn(xs[0]).item()                # dead nodes below the recording's first one
    step = replay.compile(loss_fn, on_guard_failure="raise")
    for x in xs:
        w.grad = None
        loss = step(x)
        replayed = (loss.item(), w.grad.numpy().copy())
        w.grad = None
        eager = loss_fn(x)
        eager.backward()
        assert replayed[0] == eager.item()
        np.testing.assert_array_equal(replayed[1], w.grad.numpy())
