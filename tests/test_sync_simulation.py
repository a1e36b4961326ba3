"""The two-organisation simulation (see tests/simulation.py), a fast subset of seeds; the
benchmark script bench/sync_simulation.py runs 200."""

from __future__ import annotations

from pathlib import Path

import pytest
from simulation import Simulation


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_two_organisations_converge_without_losing_work(tmp_path: Path, seed: int) -> None:
    simulation = Simulation(tmp_path, seed, steps=26, kill_rate=0.2)
    try:
        simulation.run()
        simulation.check()
    finally:
        simulation.close()
