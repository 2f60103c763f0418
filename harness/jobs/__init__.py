"""Production on clusters: cluster profiles (:mod:`.profiles`), scheduler adapters
(:mod:`.scheduler`, :mod:`.slurm`) and campaigns of run folders as job arrays (:mod:`.campaign`)."""
