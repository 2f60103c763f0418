"""The only code that talks to LAMMPS: rendering, the capability probe, sessions, the bridge."""
