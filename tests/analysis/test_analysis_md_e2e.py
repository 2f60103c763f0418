"""End-to-end: a real short LAMMPS NVT of fcc Cu (EAM) analysed by analyze_md."""

import json

import numpy as np
import pytest

from harness.analysis import analyze_md, read_thermo
from harness.report import plot_md_report

A_CU = 3.615
TIMESTEP_FS, DUMP_EVERY, THERMO_EVERY, T_TARGET = 2.0, 10, 10, 300.0


def run_cu_nvt(make_lammps, potentials, run_dir, n_steps=3000):
    lmp = make_lammps()
    lmp.commands_string(f"""
        units metal
        atom_style atomic
        boundary p p p
        lattice fcc {A_CU}
        region box block 0 4 0 4 0 4
        create_box 1 box
        create_atoms 1 box
        mass 1 63.546
        pair_style eam
        pair_coeff 1 1 {potentials / 'Cu_u3.eam'}
        velocity all create {2 * T_TARGET} 4928459 mom yes rot yes dist gaussian
        timestep {TIMESTEP_FS / 1000}
        fix nvt all nvt temp {T_TARGET} {T_TARGET} 0.1
        compute ke all ke
        variable vol equal vol
        dump traj all custom {DUMP_EVERY} {run_dir / 'traj.lammpstrj'} id type xu yu zu vx vy vz fx fy fz
        dump_modify traj sort id
        fix thermo_out all ave/time 1 1 {THERMO_EVERY} c_thermo_temp c_thermo_pe c_ke c_thermo_press """
                        f"""c_thermo_press[1] c_thermo_press[2] c_thermo_press[3] c_thermo_press[4] """
                        f"""c_thermo_press[5] c_thermo_press[6] v_vol file {run_dir / 'thermo.dat'}
        run {n_steps}
    """)
    lmp.close()


def test_cu_nvt_end_to_end(tmp_path, lammps_factory):
    make_lammps, potentials = lammps_factory
    run_cu_nvt(make_lammps, potentials, tmp_path)
    res = analyze_md(tmp_path, elements=["Cu"], timestep_fs=TIMESTEP_FS,
                     dump_every=DUMP_EVERY, thermo_every=THERMO_EVERY,
                     temperature_K=T_TARGET, equilibration_ps=1.0)
    json.dumps(res, allow_nan=False)  # results.json-ready

    assert res["n_atoms"] == 256
    assert res["n_frames"] == 251  # steps 500..3000 every 10
    # NVT holds the target temperature (256 atoms: ~6 % instantaneous fluctuations)
    t = res["temperature"]
    assert t["target_K"] == T_TARGET
    assert t["mean_K"] == pytest.approx(T_TARGET, abs=max(20.0, 4 * t["sem_K"]))
    # fcc first shell at a/sqrt(2); thermal expansion/anharmonicity shift < 0.05 A
    rdf = res["rdf"]
    assert rdf["n_bins"] == 500
    assert rdf["r_max_A"] == pytest.approx(4 * A_CU / 2)
    assert rdf["first_peak_A"] == pytest.approx(A_CU / np.sqrt(2), abs=0.06)
    assert set(rdf["pairs"]) == {"Cu-Cu"}
    np.testing.assert_allclose(rdf["pairs"]["Cu-Cu"], rdf["total"])
    # Cu phonons end near 7.5 THz: the VDOS maximum is well below 10 THz
    vd = res["vdos"]
    f, s = np.array(vd["frequency_THz"]), np.array(vd["total"])
    assert 2.0 < f[np.argmax(s)] < 10.0
    assert np.trapezoid(s[f > 10.0], f[f > 10.0]) < 0.05
    assert np.trapezoid(s, f) == pytest.approx(1.0, abs=1e-3)
    assert vd["vacf"]["normalized"][0] == pytest.approx(1.0)
    # a crystal at 300 K does not diffuse
    assert res["msd"]["D_verdict"] == "not diffusive" and res["msd"]["D_A2_per_ps"] is None
    assert max(res["msd"]["msd_A2"]) < 0.5
    # pressure summary is area-normalised
    h = res["pressure"]["histogram"]
    area = np.sum(np.array(h["density_per_GPa"]) * np.diff(h["edges_GPa"]))
    assert area == pytest.approx(1.0, abs=1e-4)  # JSON lists are rounded to 7 digits

    thermo = read_thermo(tmp_path / "thermo.dat", TIMESTEP_FS)
    written = plot_md_report(res, thermo, tmp_path / "plots")
    names = sorted(p.name for p in written)
    assert names == ["msd.png", "pressure_hist.png", "rdf.png", "thermo.png", "vdos.png"]
    for p in written:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000


def test_too_few_frames_are_skipped_not_crashing(tmp_path, write_dump, fcc_positions):
    pos = fcc_positions(A_CU, 2)[None].repeat(3, axis=0)
    write_dump(tmp_path / "traj.lammpstrj", [0, 10, 20], pos, np.zeros_like(pos),
               [2 * A_CU] * 3, np.ones(len(pos[0]), dtype=int))
    (tmp_path / "thermo.dat").write_text(
        "# TimeStep c_thermo_temp c_thermo_pe c_ke c_thermo_press c_thermo_press[1] "
        "c_thermo_press[2] c_thermo_press[3] c_thermo_press[4] c_thermo_press[5] "
        "c_thermo_press[6] v_vol\n"
        "0 290 -1 1 10000 10000 10000 10000 0 0 0 381\n"
        "10 310 -1 1 30000 30000 30000 30000 0 0 0 381\n")
    res = analyze_md(tmp_path, elements=["Cu"], timestep_fs=1.0, dump_every=10,
                     thermo_every=10, temperature_K=300.0)
    json.dumps(res, allow_nan=False)
    assert "skipped" in res["vdos"] and "skipped" in res["msd"]
    assert res["rdf"]["first_peak_A"] == pytest.approx(A_CU / np.sqrt(2), abs=0.01)
    assert res["temperature"]["mean_K"] == pytest.approx(300.0)
    assert res["pressure"]["mean_GPa"] == pytest.approx(2.0)
    written = plot_md_report(res, read_thermo(tmp_path / "thermo.dat", 1.0), tmp_path / "p")
    assert len(written) == 5 and all(p.exists() for p in written)


def test_missing_files_are_reported(tmp_path):
    res = analyze_md(tmp_path, elements=["Cu"], timestep_fs=1.0, dump_every=10,
                     thermo_every=10, temperature_K=300.0)
    assert "skipped" in res["rdf"] and "skipped" in res["temperature"]


def test_frame_progress_lines():
    """Progress of long loops: at most one line per interval, always the last one, with rate and ETA."""
    import io

    from harness.progress import frame_progress, hms

    out = io.StringIO()
    report = frame_progress("analyze", every_s=3600, stream=out)
    for done in range(1, 101):
        report(done, 100)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the first call, then nothing until the end
    assert lines[-1].startswith("[analyze] frame 100/100 100.0%") and "frames/s" in lines[-1]
    assert lines[-1].endswith("ETA 00:00:00")
    assert hms(3725) == "01:02:05" and hms(float("nan")) == "--:--:--"
    unknown = io.StringIO()  # a file read to its end: count and rate, no percentage or ETA
    frame_progress("read", every_s=0, stream=unknown)(7, None)
    assert unknown.getvalue().startswith("[read] frame 7 |") and "ETA" not in unknown.getvalue()
