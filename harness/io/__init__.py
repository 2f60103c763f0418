"""Readers of external data (reference frames with DFT energies, forces and stresses)."""
