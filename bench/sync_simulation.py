#!/usr/bin/env python3
"""The two-organisation sync simulation over many seeds (tests/simulation.py).

    python bench/sync_simulation.py [--seeds 200] [--first 1] [--steps 30] [--kill-rate 0.25]

Each seed: three clones (two through kbapp, one on plain git) of a shared repository that runs
kbapp's pre-receive hook do a random sequence of creates, edits, front matter changes, renames,
deletions and syncs, some syncs killed with SIGKILL, some commits refused by the hook (taken
out with the way out kbapp offers), and, as root, disk-full moments on a tmpfs under Ana's
clone; then everyone syncs and resolves. A seed fails when the clones do not converge, a saved version
is missing from the shared history, a conflict marker was committed, or any step raised.
Prints one line per failure and a summary; record it in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def isolated_environment(base: Path) -> None:
    """No real user's settings or git configuration: like the test suite's fixtures."""
    gitconfig = base / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Bench\n\temail = bench@internal.example\n"
                         "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n")
    os.environ["GIT_CONFIG_GLOBAL"] = str(gitconfig)
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    os.environ["KBAPP_CONFIG_DIR"] = str(base / "config")
    os.environ["KBAPP_DATA_DIR"] = str(base / "data")
    os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--kill-rate", type=float, default=0.25)
    parser.add_argument("--keep", action="store_true", help="keep the folders of failed seeds")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kbapp-sim-"))
    isolated_environment(work)
    from simulation import Simulation

    totals = {"steps": 0, "syncs": 0, "kills": 0, "conflicts": 0, "plain": 0, "saved": 0,
              "refused": 0, "full": 0, "full_failed": 0}
    failures: list[tuple[int, str]] = []
    started = time.perf_counter()
    for seed in range(args.first, args.first + args.seeds):
        base = work / f"seed-{seed}"
        base.mkdir()
        simulation = Simulation(base, seed, steps=args.steps, kill_rate=args.kill_rate)
        try:
            simulation.run()
            simulation.check()
        except Exception as exc:  # a failed seed is reported, the others still run
            failures.append((seed, f"{type(exc).__name__}: {exc}"))
            print(f"seed {seed}: FAILED {type(exc).__name__}: {str(exc)[:300]}", flush=True)
            if os.environ.get("KBAPP_SIM_TRACEBACK"):
                traceback.print_exc()
        finally:
            try:
                simulation.close()
            except Exception:
                pass
        totals["steps"] += args.steps
        totals["syncs"] += simulation.syncs
        totals["kills"] += simulation.kills
        totals["conflicts"] += simulation.conflicts_met
        totals["plain"] += simulation.plain_conflicts
        totals["saved"] += len(simulation.saved)
        totals["refused"] += simulation.refusals
        totals["full"] += simulation.full_moments
        totals["full_failed"] += simulation.full_failures
        if not (failures and failures[-1][0] == seed):
            print(f"seed {seed}: ok ({simulation.syncs} syncs, {simulation.kills} killed, "
                  f"{simulation.refusals} refused, {simulation.full_moments} full-disk moments)",
                  flush=True)
        if not (args.keep and failures and failures[-1][0] == seed):
            shutil.rmtree(base, ignore_errors=True)
    elapsed = time.perf_counter() - started
    print(f"{args.seeds} seeds x {args.steps} steps in {elapsed:.0f} s: {len(failures)} failed; "
          f"{totals['syncs']} syncs ({totals['kills']} killed with SIGKILL), "
          f"{totals['conflicts']} conflicts kept for a decision in kbapp clones, "
          f"{totals['plain']} settled by the plain-git partner, "
          f"{totals['saved']} saved versions all checked reachable; "
          f"{totals['refused']} refused syncs taken out and fixed; {totals['full']} steps on a "
          f"full disk ({totals['full_failed']} failed with a message, the rest went through)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
