"""Observables LAMMPS computes while it runs (in-situ), the heat flux and κ (Green–Kubo):
real LAMMPS, classic EAM Cu.

- in-situ g(r) agrees with the dump's on the same run within binning noise; the in-situ MSD and
  VACF equal, to the dump's rounding, the same single-origin averages computed from the dump;
- κ from the harness equals LAMMPS' own Green–Kubo (``fix ave/correlate`` and ``trap()``, the
  LAMMPS manual's recipe) of the same J(t), written by a hand-written deck on the same start;
- the per-atom (centroid) virials add up to the global virial (the route the heat flux takes);
- the bridge hands LAMMPS MACE's per-atom energies and virials: they add up, and J(t) equals the
  flux computed with mace-torch's calculator on the dumped frames; a calculator without per-atom
  stresses is refused in one line;
- a run with in-situ files killed and resumed ends with the uninterrupted run's rows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from clihelp import fails

from harness.cli import main

ROOT = Path(__file__).resolve().parent.parent
# 108 Cu atoms, 1000 K (a hot solid), samples every 4 steps
SYSTEM = """name: CuHot
temperature_K: 1000
structure: {prototype: fcc, elements: [Cu], a_A: 3.615}
presets:
  short: {supercell: [3, 3, 3], timestep_fs: 2.0, steps: 2000, dump_every: 4, thermo_every: 4, restart_every: 200}
  kappa: {supercell: [3, 3, 3], timestep_fs: 2.0, steps: 20000, dump_every: 0, thermo_every: 20,
          restart_every: 1000, heat_flux: true, insitu: true}
"""


@pytest.fixture(scope="module")
def system(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("insitu") / "CuHot.yaml"
    path.write_text(SYSTEM)
    return path


def results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


def columns(path: Path) -> np.ndarray:
    return np.array([ln.split() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")],
                    dtype=float)


def test_insitu_observables_agree_with_the_dump(system, tmp_path, capsys):
    runs = tmp_path / "runs"
    main(["run", "--system", str(system), "--model", "eam", "--preset", "short", "--insitu", "--runs-dir", str(runs),
          "--no-progress"])
    run = runs / "CuHot-eam-md-short-T1000"
    doc = results(run)
    assert all(doc[k]["source"] == "in-situ" for k in ("rdf", "msd", "vdos"))
    assert "in-situ (computed by LAMMPS while it ran): rdf, msd, vdos" in capsys.readouterr().out

    # the dump route's g(r) on the dump's frames at the steps LAMMPS sampled
    from harness.analysis.rdf_stream import RDFAccumulator
    from harness.io.lammps_dump import index_dump, iter_dump

    every = json.loads((run / "summary.json").read_text())["observables"]["rdf_every"]
    (frames, _), = iter_dump(index_dump(run / "traj.lammpstrj"), ["Cu"], 10_000)
    acc = RDFAccumulator(["Cu"] * 108, doc["rdf"]["r_max_A"], doc["rdf"]["n_bins"])
    for k in np.flatnonzero((frames.step % every == 0) & (frames.step > 0)):
        acc.add(frames.positions_A[k], frames.dimensions[k])
    dump = acc.result()
    assert acc.n_frames == doc["rdf"]["n_blocks"] * 10 == 50
    g_in, g_dump = np.array(doc["rdf"]["total"]), np.array(dump["total"])
    # the same 50 frames: LAMMPS' histogram and the harness's agree but for distances on a bin
    # edge (the dump's positions are rounded to 10 digits) and LAMMPS' 8-digit output
    assert np.abs(g_in - g_dump).max() < 0.01 * g_dump.max()
    assert doc["rdf"]["first_peak_A"] == pytest.approx(dump["first_peak_A"], abs=0.01)

    # MSD and VACF from one time origin (step 0) over the dump's frames: what LAMMPS computed
    r = frames.positions_A.astype(float)
    u = r - r[0]
    u -= u.mean(axis=1, keepdims=True)  # one element: the centre-of-mass drift is the mean
    msd_dump = (u ** 2).sum(axis=2).mean(axis=1)
    v = frames.velocities_A_per_ps.astype(float)
    vacf_dump = (v * v[0]).sum(axis=2).mean(axis=1)
    msd = columns(run / "msd.dat")
    vacf = columns(run / "vacf.dat")
    assert np.array_equal(msd[:, 0], frames.step) and np.array_equal(vacf[:, 0], frames.step)
    np.testing.assert_allclose(msd[:, 1], msd_dump, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(vacf[:, 1], vacf_dump, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(doc["msd"]["msd_A2"], msd[:, 1], rtol=1e-6)  # (results.json: 7 digits)


GREEN_KUBO_DECK = """units metal
atom_style atomic
boundary p p p
read_data {data}
pair_style eam
pair_coeff 1 1 {eam}
neighbor 1.0 bin
neigh_modify every 1 delay 0 check yes
{comm}
timestep 0.002
velocity all create 1000 12345 mom yes rot yes dist gaussian
fix nvt all nvt temp 1000 1000 0.1 tchain 3
compute ke_atom all ke/atom
compute pe_atom all pe/atom
compute stress_atom all centroid/stress/atom NULL virial
compute flux all heat/flux ke_atom pe_atom stress_atom
# LAMMPS' own Green-Kubo (its manual's compute heat/flux example): every origin, running average
fix JJ all ave/correlate 1 {nc} {steps} c_flux[1] c_flux[2] c_flux[3] type auto ave running
fix J all ave/time 1 1 1 c_flux[1] c_flux[2] c_flux[3] file {flux} format " %.10g"
variable kxx equal trap(f_JJ[3])
variable kyy equal trap(f_JJ[4])
variable kzz equal trap(f_JJ[5])
run {steps}
"""


def test_kappa_equals_lammps_own_green_kubo_of_the_same_flux(system, tmp_path, capsys):
    runs = tmp_path / "runs"
    main(["run", "--system", str(system), "--model", "eam", "--preset", "kappa", "--runs-dir", str(runs),
          "--no-progress"])
    run = runs / "CuHot-eam-md-kappa-T1000"
    kappa = results(run)["kappa"]
    assert kappa["virial_check"]["ok"] and kappa["virial_check"]["max_relative_difference"] < 1e-10
    assert 0.1 < kappa["kappa_W_mK"] < 100 and kappa["segments"] == 5 and kappa["n_samples"] == 20001

    # the same start and dynamics in a hand-written deck; LAMMPS integrates the HFACF itself
    from harness.analysis.kappa import EV_PER_A_PS_K_TO_W_PER_M_K, KB_EV_K
    from harness.lammps.probe import new_lammps

    nc, steps = 201, 20000
    # (the same ghost-atom cutoff as the harness's deck, whose in-situ g(r) widens it: the same
    # neighbour lists make the same trajectory to the last bit)
    comm = next(ln for ln in (run / "in.lammps").read_text().splitlines() if ln.startswith("comm_modify"))
    lmp = new_lammps(["-log", "none", "-screen", "none", "-nocite"])
    try:
        for line in GREEN_KUBO_DECK.format(data=run / "structure.data", eam=run / "model" / "Cu_u3.eam", nc=nc,
                                           steps=steps, comm=comm, flux=tmp_path / "flux.dat").splitlines():
            lmp.command(line)
        integral = np.array([lmp.extract_variable(k) for k in ("kxx", "kyy", "kzz")]) * 0.002  # × dt (ps)
        volume = lmp.get_thermo("vol")
    finally:
        lmp.close()
    # the harness's deck writes LAMMPS' heat flux as the manual defines it: the same J(t) to the
    # last digit until round-off, amplified by the chaos of a hot solid, sets the two runs apart
    mine, hand = columns(run / "heatflux.dat"), columns(tmp_path / "flux.dat")
    np.testing.assert_allclose(mine[:2000], hand[:2000], rtol=1e-9, atol=1e-9)
    # the harness's Green-Kubo (every origin by FFT, trapezoid running integral) of the hand deck's
    # J(t) equals LAMMPS' own (fix ave/correlate, trap()) of it, over the same correlation time
    from harness.analysis.kappa import green_kubo

    doc = green_kubo(hand[:, 1:], 0.002, volume, 1000.0, window_ps=(nc - 1) * 0.002, max_lag_ps=(nc - 1) * 0.002)
    assert doc["window_ps"] == pytest.approx((nc - 1) * 0.002)
    scale = EV_PER_A_PS_K_TO_W_PER_M_K / (volume * KB_EV_K * 1000.0 ** 2)
    np.testing.assert_allclose(doc["kappa_xyz_W_mK"], integral * scale, rtol=1e-6)
    # and `harness kappa` on the run's own file, the same window: its running integral at that time
    main(["kappa", str(run), "--window", f"{(nc - 1) * 0.002}", "--max-lag", f"{(nc - 1) * 0.002}",
          "--segments", "1"])
    again = results(run)["kappa"]
    assert again["window_ps"] == pytest.approx((nc - 1) * 0.002) and again["window"] == "given"
    assert again["running_W_mK"][nc - 1] == pytest.approx(again["kappa_W_mK"])


# 32 Cu atoms for the tiny MACE through the bridge: heat flux every 2 steps, a dump every 8
BRIDGE_SYSTEM = """name: CuMace
temperature_K: 600
structure: {prototype: fcc, elements: [Cu], a_A: 3.615}
presets:
  flux: {supercell: [2, 2, 2], timestep_fs: 1.0, steps: 64, dump_every: 8, thermo_every: 8, restart_every: 64,
         heat_flux: true, flux_every: 2, insitu: false}
"""


def test_bridge_hands_lammps_mace_per_atom_energies_and_virials(tiny_mace, tmp_path, capsys):
    """The bridge's heat flux: the per-atom virials LAMMPS got add up to the global virial, and
    LAMMPS' J·V on dumped steps equals Σ (½mv² + e_i) v_i − V Σ σ_i v_i computed here with
    mace-torch's own calculator (per-atom energies e_i and stresses σ_i) on the dumped frames."""
    from ase import Atoms
    from ase.data import atomic_masses, atomic_numbers
    from mace.calculators import MACECalculator

    from harness.analysis.insitu import virial_check
    from harness.io.lammps_dump import dump_cells, index_dump, iter_dump

    system = tmp_path / "CuMace.yaml"
    system.write_text(BRIDGE_SYSTEM)
    main(["run", "--system", str(system), "--model", str(tiny_mace), "--engine", "bridge", "--preset", "flux",
          "--runs-dir", str(tmp_path / "runs"), "--no-progress"])
    run = next((tmp_path / "runs").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    checked = virial_check(run / "virial_check.dat")
    assert checked["ok"] and checked["n_rows"] == 9, checked

    flux = columns(run / "heatflux.dat")
    assert np.array_equal(flux[:, 0], np.arange(0, 65, 2))
    (frames, symbols), = iter_dump(index_dump(run / "traj.lammpstrj"), ["Cu"], 100)
    calc = MACECalculator(model_paths=str(tiny_mace), device="cpu", compute_atomic_stresses=True,
                          default_dtype=summary["model"]["precision"]["used"])
    mass = atomic_masses[atomic_numbers["Cu"]]
    mvv2e = 1.0364269e-4  # amu·Å²/ps² -> eV (LAMMPS metal units)
    expected = []
    for k, step in enumerate(frames.step):
        atoms = Atoms(symbols, positions=frames.positions_A[k].astype(float), cell=dump_cells(frames)[k], pbc=True)
        atoms.calc = calc
        v = frames.velocities_A_per_ps[k].astype(float)
        e = 0.5 * mass * mvv2e * (v ** 2).sum(axis=1) + atoms.get_potential_energies()
        s = atoms.get_stresses(voigt=False)  # (N, 3, 3) eV/Å³
        expected.append(e @ v - atoms.get_volume() * np.einsum("iab,ib->a", s, v))
        assert flux[flux[:, 0] == step, 0].size == 1
    got = np.array([flux[flux[:, 0] == step, 1:4][0] for step in frames.step])
    expected = np.array(expected)
    assert len(got) == 9 and np.abs(expected).max() > 1.0  # eV·Å/ps
    np.testing.assert_allclose(got, expected, atol=2e-5 * np.abs(expected).max())  # 3e-6 measured
    assert "kappa" in results(run)


def test_a_calculator_without_per_atom_stresses_is_refused_for_the_heat_flux(tmp_path, capsys):
    msg = fails(capsys, "md", "--system", "Cu", "--model", "emt", "--engine", "bridge", "--heat-flux", "--runs-dir",
                str(tmp_path))
    assert "engine bridge gives LAMMPS no per-atom virial" in msg and "the emt calculator gives no per-atom" in msg
    assert "classic or the ML-IAP engine" in msg
    assert not any(tmp_path.iterdir())
    main(["run", "--system", "Cu", "--model", "eam", "--steps", "40", "--runs-dir", str(tmp_path), "--no-progress"])
    assert "wrote no heat flux" in fails(capsys, "kappa", str(next(tmp_path.iterdir())))


def _last_row(path: Path) -> int:
    if not path.is_file():
        return -1
    rows = [ln for ln in path.read_text().split("\n")[:-1] if ln.strip() and not ln.startswith("#")]
    return int(rows[-1].split()[0]) if rows else -1


def test_a_killed_insitu_run_resumes_to_the_uninterrupted_rows(system, tmp_path):
    # (killed at step 9000, resumed from its last restart: a few thousand steps after it, before
    # round-off, amplified by the chaos of a hot solid, could set the two runs apart)
    args = ["--system", str(system), "--model", "eam", "--preset", "short", "--insitu", "--heat-flux", "--steps",
            "12000", "--dump-every", "0"]
    main(["md", *args, "--tag", "whole", "--runs-dir", str(tmp_path / "a"), "--no-progress"])
    main(["render", *args, "--tag", "killed", "--runs-dir", str(tmp_path / "b")])
    run = tmp_path / "b" / "CuHot-eam-md-killed"
    env = dict(os.environ, HARNESS_ROOT=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "harness", "execute", str(run), "--no-progress"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while _last_row(run / "thermo.dat") < 9000:
        assert proc.poll() is None and time.time() - t0 < 120
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    main(["execute", str(run), "--resume", "--no-progress"])
    whole = tmp_path / "a" / "CuHot-eam-md-whole"
    for name in ("msd.dat", "vacf.dat", "heatflux.dat", "virial_check.dat", "thermo.dat"):
        a, b = columns(whole / name), columns(run / name)
        assert np.array_equal(a[:, 0], b[:, 0]), name  # every output step once
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-8, err_msg=name)
    from harness.io.avetime import read_avetime

    ra, rb = read_avetime(whole / "rdf.dat"), read_avetime(run / "rdf.dat")
    assert np.array_equal(ra.steps, rb.steps)
    np.testing.assert_allclose(rb.values, ra.values, rtol=1e-5, atol=1e-7)
