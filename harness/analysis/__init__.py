"""Post-processing of MD run folders (thermo, pressure, RDF, VACF/VDOS, MSD)."""

# the readers the analyses are fed by live in io (reading a file is input); this face keeps
# offering them beside the analyses
from ..io.lammps_dump import read_frames
from ..io.thermo import read_thermo
from .md import analyze_md
from .msd import compute_msd, fit_diffusion
from .pressure import in_plane_pressure, pressure_summary, statistical_inefficiency, summarize_series
from .rdf import compute_rdf, default_r_max, first_peak_position, running_coordination
from .trajectory import universe_from_arrays
from .vdos import partial_vdos, vacf, vdos

__all__ = [
    "analyze_md", "compute_msd", "compute_rdf", "default_r_max",
    "first_peak_position", "fit_diffusion", "in_plane_pressure",
    "partial_vdos", "pressure_summary", "read_frames", "read_thermo",
    "running_coordination", "statistical_inefficiency", "summarize_series",
    "universe_from_arrays", "vacf", "vdos",
]
