"""`harness phonons` and `harness sigma` (registered by harness.cli)."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np


def _reference_opts(fn):
    for deco in reversed([
        click.option("--reference", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                     help="reference phonopy yaml (phonopy_disp.yaml / phonopy_params.yaml) or POSCAR-unitcell"),
        click.option("--reference-forces", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="FORCE_SETS, or the vasprun.xml of each displacement in order (repeat the option)"),
        click.option("--born", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                     help="BORN file: non-analytic correction (polar materials)"),
        click.option("--nac", is_flag=True, help="require the non-analytic correction (needs --born)"),
        click.option("--dim", nargs=3, type=int, default=None, help="reference supercell when --reference is a unit cell"),
    ]):
        fn = deco(fn)
    return fn


@click.command()
@click.option("--system", "-s", default=None, help="inputs/<SYSTEM>.yaml (optional with --reference)")
@click.option("--model", "-m", default="chgnet", show_default=True)
@click.option("--engine", "-e", default="auto", show_default=True)
@click.option("--supercell", nargs=3, type=int, default=None, help="diagonal supercell [default: every width >= 10 Å]")
@click.option("--displacement", "displacement_A", type=float, default=0.01, show_default=True, help="Å")
@click.option("--mesh", nargs=3, type=int, default=(20, 20, 20), show_default=True)
@_reference_opts
@click.option("--md-run", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="an analysed MD run of the same model: compare its VDOS with the phonon DOS (low-T check)")
@click.option("--tag", default=None)
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"), show_default=True)
@click.option("--overwrite", is_flag=True)
def phonons(system, model, engine, supercell, displacement_A, mesh, reference, reference_forces, born, nac, md_run, tag,
            dim, runs_dir, overwrite):
    """Harmonic phonons (phonopy finite displacements, forces from LAMMPS); optional DFT comparison."""
    from .config import load_model, load_system
    from .errors import ConfigError
    from .report.phonons import plot_bands, plot_dos
    from .runs import create_run_dir, host_info, now, package_versions, write_json
    from .systems import build_atoms, unit_cell
    from .tasks.phonons import (PhononSettings, PhononTask, compare_with_reference, default_supercell,
                                load_reference, reference_unitcell)

    if system is None and reference is None:
        raise ConfigError("give --system, or --reference (the structure then comes from the reference)")
    if nac and born is None:
        raise ConfigError("--nac asks for the non-analytic correction of a polar material: give its BORN file with --born")
    spec = load_model(model)
    ref_ph, nac = None, None
    if reference is not None:
        ref_ph = load_reference(reference, list(reference_forces), born,
                                supercell_matrix=[[dim[0], 0, 0], [0, dim[1], 0], [0, 0, dim[2]]] if dim else None)
        cell = reference_unitcell(ref_ph)
        matrix = np.asarray(ref_ph.supercell_matrix).tolist()
        nac = ref_ph.nac_params
        if system is not None:
            mine = build_atoms(load_system(system).structure, (1, 1, 1))
            if _reduced(mine) != _reduced(cell):
                raise ConfigError(f"system {system} ({mine.get_chemical_formula()}) is not the reference's "
                                  f"structure ({cell.get_chemical_formula()})")
        name = system or _reduced(cell)
    else:
        cell = unit_cell(load_system(system).structure)
        matrix = ([[supercell[0], 0, 0], [0, supercell[1], 0], [0, 0, supercell[2]]] if supercell
                  else default_supercell(cell))
        name = system
    settings = PhononSettings(supercell_matrix=matrix, displacement_A=displacement_A, mesh=tuple(mesh), engine=engine)
    task = PhononTask(spec, cell, settings, nac_params=nac)
    tag = tag or ("ref" if reference else "x".join(str(matrix[i][i]) for i in range(3)))
    run_dir = create_run_dir(runs_dir, f"{name}-{spec.label}-phonons-{tag}", overwrite=overwrite)
    click.echo(f"{task.n_displacements} displaced supercells of {len(task.phonon.supercell)} atoms -> {run_dir}", err=True)
    results = task.run(workdir=run_dir / "lammps")
    summary = results.summary()
    results.write(run_dir)
    figures = run_dir / "figures"
    figures.mkdir()
    comparison, overlay = None, None
    if ref_ph is not None:
        comparison = compare_with_reference(task.phonon, ref_ph)
        q = np.concatenate(results.band["qpoints"])
        ref_ph.run_qpoints(q)
        fr = ref_ph.get_qpoints_dict()["frequencies"]
        sizes = np.cumsum([len(d) for d in results.band["distances"]])[:-1]
        overlay = {"distances": results.band["distances"], "frequencies_THz": np.split(fr, sizes)}
        summary["comparison"] = comparison
    if md_run is not None:
        summary["vdos_vs_dos"] = _vdos_check(md_run, summary, figures / "vdos_vs_dos.png", task.phonon)
        click.echo(f"VDOS of {md_run.name} vs phonon DOS: E_VDOS = {summary['vdos_vs_dos']['E_VDOS_percent']:.1f} %")
    plot_bands(summary, figures / "band.png", reference=overlay, label=spec.label)
    plot_dos(summary, figures / "dos.png")
    write_json(run_dir / "results.json", {"system": name, "model": spec.label, "task": "phonons", **summary})
    write_json(run_dir / "summary.json", {
        "run_name": run_dir.name, "task": "phonons", "status": "completed", "created": now(),
        "model": {"name": spec.name, "label": spec.label, "source": spec.source},
        "reference": {"file": str(reference), "forces": [str(f) for f in reference_forces],
                      "born": str(born) if born else None} if reference else None,
        "settings": {"supercell_matrix": matrix, "displacement_A": displacement_A, "mesh": list(mesh)},
        "timings": summary["timings"], "versions": package_versions(), "host": host_info(),
    })
    click.echo(f"max frequency {summary['max_frequency_THz']:.3f} THz; "
               f"{'dynamically stable' if summary['dynamically_stable'] else 'IMAGINARY MODES at %d q-points' % summary['n_imaginary_qpoints']}")
    if comparison:
        click.echo(f"vs reference: RMSE(ω²) {comparison['rmse_omega2_THz2']:.3f} THz², "
                   f"RMSE(v_g) {comparison['rmse_group_velocity_THz_A']:.3f} THz·Å, "
                   f"max-frequency ratio {comparison['max_frequency_ratio']:.3f}")
    click.echo(f"results: {run_dir / 'results.json'}")


def commensurate_qpoints(md_cell: np.ndarray, primitive_cell: np.ndarray) -> np.ndarray:
    """q-points (reduced, primitive basis) that a periodic MD cell can hold: its reciprocal
    lattice vectors folded into the primitive Brillouin zone (one per primitive cell)."""
    n_cells = int(round(abs(np.linalg.det(md_cell) / np.linalg.det(primitive_cell))))
    recip = np.linalg.inv(md_cell).T  # rows: MD reciprocal vectors (1/Å, no 2π)
    found = {}
    span = int(np.ceil(n_cells ** (1 / 3))) * 2 + 2
    rng = range(-span, span + 1)
    for i in rng:
        for j in rng:
            for k in rng:
                q = (np.array([i, j, k]) @ recip) @ np.asarray(primitive_cell).T
                q = np.round(q - np.floor(q + 1e-9), 8) % 1.0
                found.setdefault(tuple(np.round(q, 6)), q)
    qs = np.array(list(found.values()))
    if len(qs) != n_cells:
        raise ValueError(f"found {len(qs)} commensurate q-points for {n_cells} primitive cells")
    return qs


def _vdos_check(md_run: Path, summary: dict, figure: Path, phonon) -> dict:
    """The MD run's mass-weighted VDOS against the harmonic phonon spectrum (equal in the
    harmonic limit). A periodic MD cell only holds the q-points commensurate with it, so the
    harmonic reference is the modes at those q-points, broadened to the VDOS resolution."""
    import json

    from .analysis.metrics import normalise, spectrum_error
    from .errors import ConfigError

    res_path = md_run / "results.json"
    if not res_path.is_file():
        raise ConfigError(f"{md_run}: no results.json (run `harness analyze {md_run}` first)")
    vd = json.loads(res_path.read_text()).get("vdos", {})
    if "frequency_THz" not in vd:
        raise ConfigError(f"{md_run}: its results have no VDOS ({vd.get('skipped', 'missing')})")
    fv, sv = np.asarray(vd["frequency_THz"], dtype=float), np.asarray(vd["total"], dtype=float)
    md_summary = json.loads((md_run / "summary.json").read_text())
    md_cell = np.asarray(md_summary["structure"]["cell_A"])
    try:
        qs = commensurate_qpoints(md_cell, np.asarray(phonon.primitive.cell))
    except ValueError as exc:
        raise ConfigError(f"{md_run.name}: its cell is not a supercell of this primitive cell ({exc})") from None
    phonon.run_qpoints(qs)
    modes = phonon.get_qpoints_dict()["frequencies"].ravel()
    modes = modes[np.abs(modes) > 0.05]  # the three uniform translations: MD removes them (mom yes)
    width = max(float(vd.get("resolution_THz", 0.1)), 0.05)
    fd = np.linspace(0, max(fv.max(), modes.max() + 5 * width), 4000)
    sd = np.exp(-0.5 * ((fd[:, None] - modes[None, :]) / width) ** 2).sum(axis=1)
    fd_pos = fd >= 0
    err = spectrum_error(fd[fd_pos], sd[fd_pos], fv, sv)
    from .report.phonons import plot_spectra

    plot_spectra(figure, [(fd[fd_pos], normalise(fd[fd_pos], sd[fd_pos]), f"harmonic modes at the {len(qs)} q-points of the MD cell"),
                          (fv, sv, f"VDOS from MD ({md_run.name})")], xmax=1.3 * modes.max(),
                 title=f"E_VDOS = {err:.1f} %")
    return {"run": md_run.name, "E_VDOS_percent": err, "n_qpoints": len(qs), "broadening_THz": width,
            "figure": str(figure.name)}


def _reduced(atoms) -> str:
    """Composition with the counts divided by their gcd (Na4Cl4 -> NaCl, Pt24Co8 -> Pt3Co)."""
    return str(atoms.symbols.formula.reduce()[0])


@click.command()
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="an MD run folder: σ along the model's own trajectory")
@click.option("--fc", default="model", show_default=True,
              help="'model' (Φ from the run's model) or a phonopy yaml with forces/force constants")
@click.option("--fc-forces", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="FORCE_SETS or vasprun.xml files for --fc")
@click.option("--reference", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="reference frames with forces (extxyz, vasprun.xml, OUTCAR): forces recomputed by --model")
@click.option("--model", "-m", default=None)
@click.option("--engine", "-e", default="auto", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="results JSON")
def sigma(run_dir, fc, fc_forces, reference, model, engine, out):
    """Anharmonicity score σ^(2)(t) and ⟨σ⟩ (Knoop et al.) with its class."""
    from .errors import ConfigError
    from .runs import write_json
    from .tasks.sigma import sigma_of_reference_frames, sigma_of_run

    if run_dir is not None:
        res = sigma_of_run(run_dir, fc=fc, fc_forces=list(fc_forces), engine=engine)
        out = out or run_dir / "sigma.json"
        from .report.phonons import plot_sigma

        (run_dir / "figures").mkdir(exist_ok=True)
        plot_sigma(np.asarray(res["time_ps"]), np.asarray(res["sigma_t"]), run_dir / "figures" / "sigma.png",
                   res["sigma_mean"])
        click.echo(f"<σ> = {res['sigma_mean']:.3f} ± {res['sigma_std']:.3f} over {res['n_frames']} frames: {res['class']}")
    elif reference is not None:
        if model is None or fc == "model":
            raise ConfigError("with --reference give --model and --fc <reference phonopy yaml>")
        from ase.io import read

        from .config import load_model

        frames = read(str(reference), index=":")
        res = sigma_of_reference_frames(frames, load_model(model), Path(fc), list(fc_forces), engine)
        out = out or Path(f"sigma-{load_model(model).label}.json")
        click.echo(f"<σ> reference {res['reference']['sigma_mean']:.3f} ({res['classes']['reference']}), "
                   f"model {res['model']['sigma_mean']:.3f} ({res['classes']['model']})")
    else:
        raise ConfigError("give --run RUN_DIR, or --reference FRAMES with --model and --fc")
    write_json(out, res)
    click.echo(f"results: {out}")


@click.command("sigma-matrix")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pair", "pairs", nargs=3, multiple=True, metavar="LABEL MODEL_JSON REF_JSON",
              type=(str, click.Path(exists=True, dir_okay=False, path_type=Path),
                    click.Path(exists=True, dir_okay=False, path_type=Path)),
              help="a material whose model σ and reference σ are in two files (e.g. the model's MD run)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("sigma-matrix"),
              show_default=True)
def sigma_matrix(files, pairs, out_dir):
    """Confusion matrix of σ^(2) classes, model vs reference, over many materials (table + figure).

    FILES are `harness sigma --reference` results (both σ inside).
    """
    from .tasks.sigma import sigma_matrix as build, write_sigma_matrix

    doc = build(list(files), list(pairs))
    written = write_sigma_matrix(doc, out_dir)
    c = doc["confusion"]
    click.echo(f"{len(doc['rows'])} materials: classes agree for {100 * c['agreement']:.0f} %, "
               f"mean |Δσ| = {doc['sigma_mean_abs_error']:.3f}")
    for r in doc["rows"]:
        click.echo(f"  {r['material']}: reference {r['sigma_reference']:.3f} ({r['class_reference']}), "
                   f"model {r['sigma_model']:.3f} ({r['class_model']})")
    click.echo("written: " + ", ".join(str(p) for p in written))


COMMANDS = [phonons, sigma, sigma_matrix]
