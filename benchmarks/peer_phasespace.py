"""The decay benchmarks of bench_decays.py with the ``phasespace`` package (zfit; TensorFlow).

    python benchmarks/peer_phasespace.py N   -> prints one JSON line

Run in its own process (TensorFlow start-up and memory stay out of the b2dark measurements),
TensorFlow restricted to one intra-op and one inter-op thread so the rate is per core; the CPU
time of the whole process is used anyway. Optional: prints {"error": ...} when phasespace is
not installed (``pip install phasespace``; not a dependency of b2dark).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    n = int(sys.argv[1])
    masses = json.loads(sys.argv[2])
    try:
        import phasespace
        import tensorflow as tf
    except ImportError as exc:
        print(json.dumps({"error": f"phasespace not installed ({exc})"}))
        return
    tf.get_logger().setLevel("ERROR")
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from phasespace import GenParticle

    def chain():
        s = GenParticle("S", masses["S"]).set_children(
            GenParticle("mu+", masses["mu"]), GenParticle("mu-", masses["mu"])
        )
        return GenParticle("B+", masses["B+"]).set_children(GenParticle("K+", masses["K"]), s)

    three = phasespace.nbody_decay(masses["B0"], [masses["K"], masses["pi"], masses["pi0"]])
    b = chain()
    out = {"version": phasespace.__version__, "tensorflow": tf.__version__}
    rng = tf.random.Generator.from_seed(1)  # one generator object: no retracing per seed
    for name, gen in (("chain", b), ("three_body", three)):
        gen.generate(n_events=n, seed=rng)  # tracing / first-call overhead outside the timing
        best = None
        for _ in range(3):
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            c0, w0 = time.process_time(), time.perf_counter()
            gen.generate(n_events=n, seed=rng)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
            if best is None or cpu < best[0]:
                best = (cpu, wall, faults)
        out[name] = {"cpu": best[0], "wall": best[1], "n": n, "minor_faults": best[2]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
