"""Side-by-side benchmarks of xpgrad against JAX, torch.func and HIPS autograd.

Run ``python -m benchmarks`` (``--help`` for options). Every workload first
checks that all libraries agree (``np.allclose``), then times medians over
repeats, and reports ratios to the fastest eager peer and to the plain-NumPy
forward evaluation. Peers are optional (the ``bench`` extra); a missing peer is
reported as skipped. Results go to ``benchmarks/results/``.
"""
