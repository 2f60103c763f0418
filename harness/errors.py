"""Typed exceptions. The CLI turns each into one line on stderr and a non-zero exit."""


class HarnessError(Exception):
    """Base class: a problem the user can fix, reported as one line."""

    exit_code = 2


class ConfigError(HarnessError):
    """A system, model or task specification is invalid (names the file, key, allowed values)."""


class UnknownNameError(ConfigError):
    """A name (system, model, engine, preset) is not registered."""


class StructureError(HarnessError):
    """The atoms make no physical sense (overlaps, elements the model does not cover)."""


class ModelUnavailableError(HarnessError):
    """Model weights cannot be found or downloaded, or a needed package is missing."""


class EngineUnavailableError(HarnessError):
    """The requested engine cannot run on this LAMMPS build (says what the build lacks)."""


class RunExistsError(HarnessError):
    """A run folder already holds a run; never overwritten silently."""


class RunBusyError(HarnessError):
    """Another process works in a run folder (its lock is held): names the holder."""


class SimulationError(HarnessError):
    """The simulation went wrong (lost atoms, NaN, runaway temperature); outputs are kept."""

    exit_code = 3


class FramesError(ConfigError):
    """Reference frames cannot be read or lack what is needed (forces)."""


class CorrectionError(HarnessError):
    """A linear correction cannot be fitted from the given frames (says why)."""


class TrajectoryError(ConfigError):
    """A reference trajectory cannot be read or lacks what is needed (time step, frames)."""


class CompareError(ConfigError):
    """A reference and a model run cannot be compared (composition, cell, time steps, length)."""


class RunFolderError(HarnessError):
    """A folder is not a harness run folder, or not in the state a command needs (says which)."""


class LaunchError(HarnessError):
    """LAMMPS could not be launched as asked (MPI launcher missing, ranks an engine cannot use)."""


class AnalysisError(HarnessError):
    """What a run wrote cannot be analysed (an unreadable dump, ...): says why."""


class IncompleteResultsError(HarnessError):
    """Results were written, but observables the user did not leave out are missing (says which)."""

    exit_code = 4


class WalltimeReached(HarnessError):
    """A run stopped cleanly before its job's walltime (``--stop-after``): it continues from its
    last restart with ``--resume`` (the job script requeues itself on this exit code)."""

    exit_code = 75  # EX_TEMPFAIL: try again


class TrainingError(HarnessError):
    """A trainer stopped with an error (the last line it printed says why; its full log is in
    the run folder)."""
